// Stable person ids: a new linkage generation's persons take over the ids
// of the previous generation's persons they continue, so that whatever
// follows a person (a cohort, a release history) can follow them across
// re-linkage; the lineage says what became of every id.
//
// The rule, deterministic for the same inputs:
//  - Each previous person's successor is the new cluster holding most of
//    its participants (ties: the cluster whose smallest participant id is
//    smallest).
//  - A cluster that is the successor of one or more previous persons keeps
//    the id of the one with most participants in it (ties: the one whose
//    smallest participant id in it is smallest), KEPT. The others are
//    MERGED into it and their ids retire.
//  - A cluster that holds previous participants but is no one's successor
//    gets a fresh id, SPLIT from the previous person with most participants
//    in it (same tie-break).
//  - A cluster without previous participants gets a fresh id, NEW.
//  - A previous person none of whose participants are in the new
//    clustering (their records withdrawn, or opted out) LEFT; its id retires. Fresh ids are drawn from the injected source: 63
// bits, nonzero, and distinct from every previous id and every id of this
// generation (a repeated draw is drawn again).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/types/span.h"
#include "common/store/person_lineage.h"

namespace trelink {

// A participant of the new linkage and its cluster (any label; participants
// with equal labels are one person).
struct ClusteredParticipant {
  int64_t participant_id;
  uint32_t cluster;
};

// How many lineage lines of each kind a generation has.
struct LineageCounts {
  uint64_t kept = 0;
  uint64_t new_persons = 0;
  uint64_t merged = 0;
  uint64_t split = 0;
  uint64_t left = 0;
};

struct PersonIds {
  std::vector<PersonAssignment> assignments;  // aligned with the clustering
  // One line per new person (KEPT, NEW or SPLIT) in the order of each
  // cluster's smallest participant id, then one per previous person MERGED
  // away, in the order of its id.
  std::vector<LineageEvent> lineage;
  LineageCounts counts;
};

// Assigns every cluster of `clustering` a person id by the rule above.
// `previous` is the previous generation's assignments (participants absent
// there are new); `random_id` supplies candidate fresh ids.
PersonIds AssignPersonIds(absl::Span<const ClusteredParticipant> clustering,
                          absl::Span<const PersonAssignment> previous, const std::function<uint64_t()>& random_id);

}  // namespace trelink
