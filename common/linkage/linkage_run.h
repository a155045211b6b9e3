// One linkage run over a project's stored records: load participants, link,
// give every person the linkage id of the previous generation's person it
// continues, or a fresh random one (never derived from a pseudonym; see
// person_ids.h), and save the result as a new generation with its lineage
// and disclosure-controlled report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/linkage/linkage_engine.h"
#include "common/store/linked_store.h"
#include "common/time/clock.h"

namespace trelink {

struct LinkageRunContext {
  LinkedStore* store = nullptr;
  const Clock* clock = nullptr;
  // Source of linkage ids; default: libsodium's CSPRNG. Injectable for tests.
  std::function<uint64_t()> random_id;
  uint32_t disclosure_threshold = 10;
};

absl::StatusOr<trelink::v1::LinkageReport> RunLinkage(const LinkageRunContext& context, const std::string& project,
                                                      const LinkageOptions& options,
                                                      const PassObserver& observer = nullptr);

// Loads a project's participants from the store, keeping the record
// attributes `subgroup_attributes` of each.
absl::StatusOr<ParticipantTable> LoadParticipants(LinkedStore& store, const std::string& project,
                                                  std::vector<std::string> subgroup_attributes = {});

}  // namespace trelink
