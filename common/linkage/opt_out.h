// The national data opt-out applied to a linkage generation. The list is
// NHS numbers keyed by the pseudonymiser like any identifier, so the linker
// matches keyed hashes, never numbers. Linkage runs over everyone first,
// so that an opted-out person's records without an NHS number are found
// through their links too; then every record in which such a person takes
// part is left out of the generation the aggregator answers from.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/linkage/participant_table.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

// Participants whose "nhs" key is one of `nhs_keys` (full keyed hashes).
// Keys cleared as untrustworthy count as keyed: a number keyed on the
// wrong participant of a record still marks the record.
std::vector<bool> OptedOutParticipants(const ParticipantTable& table, absl::Span<const std::string> nhs_keys);

struct OptOutExclusion {
  std::vector<bool> excluded;  // per participant: its record leaves the generation
  uint64_t persons = 0;        // persons linked to an opted-out number
  std::map<std::string, uint64_t> records_by_dataset;
};

// Every participant of every record in which a person (a set of `set_of`)
// with an opted-out participant takes part.
OptOutExclusion ExcludeOptedOut(const ParticipantTable& table, const std::vector<uint32_t>& set_of,
                                const std::vector<bool>& opted_out);

// The report section of an exclusion (counts not yet disclosure-controlled).
trelink::v1::OptOutReport ReportOptOut(const std::string& list_version, uint64_t numbers_in_list,
                                       const OptOutExclusion& exclusion);

}  // namespace trelink
