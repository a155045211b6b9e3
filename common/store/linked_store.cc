#include "common/store/linked_store.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"

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

absl::Status LinkageInProgressError(const std::string& project) {
  return absl::FailedPreconditionError(absl::StrCat("project \"", project,
                                                    "\": a linkage run is in progress on another linker sharing the "
                                                    "store; try again when it ends"));
}

absl::Status LinkedStore::SaveCompleteGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                                 std::vector<PersonAssignment> assignments,
                                                 const std::vector<LineageEvent>& lineage) {
  std::sort(assignments.begin(), assignments.end(),
            [](const PersonAssignment& a, const PersonAssignment& b) { return a.participant_id < b.participant_id; });
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> current, CurrentAssignments(project));
  return SaveGeneration(project, report, DiffAssignments(current, assignments), lineage);
}

absl::flat_hash_map<int64_t, int64_t> SuccessorsByPlace(const std::vector<PlacedParticipant>& placed) {
  absl::flat_hash_map<int64_t, int64_t> replaced_by;  // record -> record
  // record -> role -> its participants in order
  absl::flat_hash_map<int64_t, std::map<std::string, std::vector<int64_t>>> places;
  std::vector<std::tuple<int64_t, int64_t, std::string, size_t>> replaced;  // participant, record, role, place
  for (const PlacedParticipant& p : placed) {
    std::vector<int64_t>& same_role = places[p.record][p.role];
    if (p.replaced_by.has_value()) {
      replaced_by[p.record] = *p.replaced_by;
      replaced.emplace_back(p.participant, p.record, p.role, same_role.size());
    }
    same_role.push_back(p.participant);
  }
  absl::flat_hash_map<int64_t, int64_t> successor;
  for (const auto& [participant, record, role, place] : replaced) {
    int64_t now = record;
    for (auto next = replaced_by.find(now); next != replaced_by.end(); next = replaced_by.find(now)) now = next->second;
    const auto& roles = places[now];
    auto it = roles.find(role);
    if (it != roles.end() && place < it->second.size()) successor[participant] = it->second[place];
  }
  return successor;
}

void FollowSuccessors(const absl::flat_hash_map<int64_t, int64_t>& successor,
                      std::vector<PersonAssignment>& assignments) {
  for (PersonAssignment& a : assignments) {
    if (auto it = successor.find(a.participant_id); it != successor.end()) a.participant_id = it->second;
  }
  std::sort(assignments.begin(), assignments.end(),
            [](const PersonAssignment& a, const PersonAssignment& b) { return a.participant_id < b.participant_id; });
}

absl::Status EventRowAssembler::Add(int64_t record, absl::string_view dataset, absl::string_view content,
                                    absl::string_view role, uint64_t person) {
  if (record != current_) {
    TRELINK_RETURN_IF_ERROR(Finish());
    current_ = record;
    dataset_ = std::string(dataset);
    if (!content_.ParseFromArray(content.data(), static_cast<int>(content.size()))) {
      current_ = -1;
      return absl::DataLossError(absl::StrCat("store: record ", record, " has unreadable content"));
    }
    roles_.clear();
    persons_.clear();
  }
  roles_.emplace_back(role);
  persons_.push_back(person);
  return absl::OkStatus();
}

absl::Status EventRowAssembler::Finish() {
  if (current_ >= 0) visit_(EventRow{current_, dataset_, content_, roles_, persons_});
  current_ = -1;
  return absl::OkStatus();
}

}  // namespace trelink
