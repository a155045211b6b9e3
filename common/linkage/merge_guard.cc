#include "common/linkage/merge_guard.h"

#include <algorithm>

#include "common/linkage/comparator.h"

namespace trelink {

MergeGuard::MergeGuard(const ParticipantTable& table, UnionFind& sets,
                       const std::vector<OncePerPersonRule>& once_per_person,
                       const std::vector<OneRelatedPersonRule>& one_related_person)
    : table_(table),
      sets_(sets),
      nhs_(table.Slot("t.nhs")),
      sex_(table.Slot("t.sex")),
      given_(table.Slot("t.given_name")),
      given_phonetic_(table.Slot("t.given_phonetic")),
      names_unordered_(table.Slot("t.names_unordered")),
      set_nhs_(table.size()),
      set_sex_(table.size()),
      set_once_(table.size(), 0),
      members_(table.size()) {
  for (const char* token : {"t.dob", "t.dob_day_month_unordered", "t.dob_year_month", "t.dob_year_window_even",
                            "t.dob_year_window_odd"}) {
    const int slot = table.Slot(token);
    if (slot >= 0) dob_levels_.push_back(slot);
  }
  if (!one_related_person.empty()) {
    one_related_ = RelatedParticipants(table);
    for (uint32_t p = 0; p < table.size(); ++p) {
      const bool applies = std::any_of(one_related_person.begin(), one_related_person.end(), [&](const auto& rule) {
        return table.datasets()[table.dataset(p)] == rule.dataset && table.role(p) == rule.role;
      });
      if (!applies) one_related_[p] = kNoRelated;
    }
  }
  for (uint32_t p = 0; p < table.size(); ++p) {
    set_nhs_[p] = At(p, nhs_);
    set_sex_[p] = At(p, sex_);
    for (size_t k = 0; k < once_per_person.size() && k < 64; ++k) {
      const OncePerPersonRule& rule = once_per_person[k];
      if (table.datasets()[table.dataset(p)] == rule.dataset && table.role(p) == rule.role &&
          std::find(rule.events.begin(), rule.events.end(), table.event(p)) != rule.events.end()) {
        set_once_[p] |= uint64_t{1} << k;
      }
    }
  }
}

bool MergeGuard::SlotAgrees(uint32_t a, uint32_t b, int slot) const {
  const uint64_t x = At(a, slot), y = At(b, slot);
  return x != 0 && x == y;
}

bool MergeGuard::GivenNamesConflict(uint32_t a, uint32_t b) const {
  if (SlotAgrees(a, b, nhs_) || SlotAgrees(a, b, names_unordered_)) return false;
  const uint64_t ga = At(a, given_), gb = At(b, given_);
  const uint64_t pa = At(a, given_phonetic_), pb = At(b, given_phonetic_);
  return ga != 0 && gb != 0 && ga != gb && pa != 0 && pb != 0 && pa != pb;
}

bool MergeGuard::Ambiguous(const std::vector<uint32_t>& members) {
  uint64_t first = 0;
  for (uint32_t p : members) {
    const uint64_t nhs = set_nhs_[sets_.Find(p)];
    if (nhs == 0) continue;
    if (first == 0) {
      first = nhs;
    } else if (nhs != first) {
      return true;
    }
  }
  return false;
}

bool MergeGuard::DatesOfBirthConflict(uint32_t a, uint32_t b) const {
  bool known = false;
  for (int slot : dob_levels_) {
    const uint64_t x = At(a, slot), y = At(b, slot);
    if (x == 0 || y == 0) continue;
    if (x == y) return false;
    known = true;
  }
  return known;
}

bool MergeGuard::RelatedPersonsDiffer(uint32_t a, uint32_t b) const {
  if (one_related_.empty() || one_related_[a] == kNoRelated || one_related_[b] == kNoRelated) return false;
  const uint64_t x = set_nhs_[sets_.Find(one_related_[a])], y = set_nhs_[sets_.Find(one_related_[b])];
  return x != 0 && y != 0 && x != y;
}

template <typename Visit>
void MergeGuard::ForEachMember(uint32_t root, Visit visit) const {
  if (members_[root].empty()) {
    visit(root);
    return;
  }
  for (uint32_t p : members_[root]) visit(p);
}

bool MergeGuard::MembersConflict(uint32_t ra, uint32_t rb, bool check_dates_of_birth) const {
  bool conflict = false;
  ForEachMember(ra, [&](uint32_t x) {
    if (conflict) return;
    ForEachMember(rb, [&](uint32_t y) {
      conflict = conflict || table_.record_id(x) == table_.record_id(y) ||
                 (check_dates_of_birth && DatesOfBirthConflict(x, y)) || RelatedPersonsDiffer(x, y);
    });
  });
  return conflict;
}

bool MergeGuard::TryMerge(uint32_t a, uint32_t b, Evidence evidence) {
  uint32_t ra = sets_.Find(a), rb = sets_.Find(b);
  if (ra == rb) return true;
  auto conflict = [](uint64_t x, uint64_t y) { return x != 0 && y != 0 && x != y; };
  if (conflict(set_nhs_[ra], set_nhs_[rb]) || conflict(set_sex_[ra], set_sex_[rb]) ||
      (set_once_[ra] & set_once_[rb]) != 0 || MembersConflict(ra, rb, evidence == Evidence::kKeyOnly)) {
    return false;
  }
  Join(ra, rb);
  return true;
}

void MergeGuard::Join(uint32_t a, uint32_t b) {
  const uint32_t ra = sets_.Find(a), rb = sets_.Find(b);
  if (ra == rb) return;
  const uint64_t nhs = set_nhs_[ra] != 0 ? set_nhs_[ra] : set_nhs_[rb];
  const uint64_t sex = set_sex_[ra] != 0 ? set_sex_[ra] : set_sex_[rb];
  const uint64_t once = set_once_[ra] | set_once_[rb];
  std::vector<uint32_t> members;
  members.reserve(sets_.SetSize(ra) + sets_.SetSize(rb));
  ForEachMember(ra, [&](uint32_t p) { members.push_back(p); });
  ForEachMember(rb, [&](uint32_t p) { members.push_back(p); });
  members_[ra].clear();
  members_[ra].shrink_to_fit();
  members_[rb].clear();
  members_[rb].shrink_to_fit();
  const uint32_t root = sets_.UnionRoots(ra, rb);
  set_nhs_[root] = nhs;
  set_sex_[root] = sex;
  set_once_[root] = once;
  members_[root] = std::move(members);
}

}  // namespace trelink
