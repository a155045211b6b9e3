#include "common/store/linked_store.h"

#include <algorithm>

#include "common/status/status_macros.h"

namespace trelink {

AssignmentChanges DiffAssignments(absl::Span<const PersonAssignment> previous,
                                  absl::Span<const PersonAssignment> current) {
  AssignmentChanges changes;
  size_t i = 0, j = 0;
  while (i < previous.size() || j < current.size()) {
    if (j == current.size() || (i < previous.size() && previous[i].participant_id < current[j].participant_id)) {
      changes.ended.push_back(previous[i++].participant_id);
    } else if (i == previous.size() || current[j].participant_id < previous[i].participant_id) {
      changes.assigned.push_back(current[j++]);
    } else {
      if (previous[i].person_id != current[j].person_id) {
        changes.ended.push_back(previous[i].participant_id);
        changes.assigned.push_back(current[j]);
      }
      ++i;
      ++j;
    }
  }
  return changes;
}

absl::Status LinkedStore::SaveCompleteGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                                 std::vector<PersonAssignment> assignments,
                                                 const std::vector<LineageEvent>& lineage) {
  std::sort(assignments.begin(), assignments.end(),
            [](const PersonAssignment& a, const PersonAssignment& b) { return a.participant_id < b.participant_id; });
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> current, CurrentAssignments(project));
  return SaveGeneration(project, report, DiffAssignments(current, assignments), lineage);
}

}  // namespace trelink
