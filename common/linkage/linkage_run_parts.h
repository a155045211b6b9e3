// The steps full and incremental linkage runs share (linkage_run.cc,
// incremental_linkage.cc). Internal to the linkage library.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/linkage/linkage_run.h"
#include "common/linkage/opt_out.h"
#include "common/linkage/person_ids.h"

namespace trelink::linkage_run {

// Linkage ids from the CSPRNG, or the context's source.
std::function<uint64_t()> RandomIds(const LinkageRunContext& context, size_t expected);

// The active opt-out list, checked to cover every key version live records
// use: a list keyed with another version would match none of them.
absl::StatusOr<std::optional<OptOutList>> ActiveOptOut(LinkedStore& store, const std::string& project);

// Fills the report's common sections, disclosure-controls it, saves the
// generation, and times the save.
absl::Status SaveReport(const LinkageRunContext& context, const std::string& project,
                        trelink::v1::LinkageReport& report, uint64_t shared_nhs, const LineageCounts& lineage,
                        const std::optional<OptOutList>& opt_out, const OptOutExclusion& exclusion,
                        const AssignmentChanges& changes, const std::vector<LineageEvent>& events);

// The incremental run (incremental_linkage.cc); nullopt when the state
// cannot carry one (another generation since, other keys, too much changed).
absl::StatusOr<std::optional<trelink::v1::LinkageReport>> LinkIncrementally(const LinkageRunContext& context,
                                                                           const std::string& project,
                                                                           const LinkageOptions& options,
                                                                           const PassObserver& observer);

inline double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace trelink::linkage_run
