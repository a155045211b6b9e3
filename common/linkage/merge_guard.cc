#include "common/linkage/merge_guard.h"

namespace trelink {

MergeGuard::MergeGuard(const ParticipantTable& table, UnionFind& sets,
                       const std::vector<std::pair<std::string, std::string>>& once_per_person)
    : table_(table),
      sets_(sets),
      nhs_(table.Slot("t.nhs")),
      sex_(table.Slot("t.sex")),
      given_(table.Slot("t.given_name")),
      given_phonetic_(table.Slot("t.given_phonetic")),
      set_nhs_(table.size()),
      set_sex_(table.size()),
      set_once_(table.size(), 0) {
  for (uint32_t p = 0; p < table.size(); ++p) {
    set_nhs_[p] = At(p, nhs_);
    set_sex_[p] = At(p, sex_);
    for (size_t k = 0; k < once_per_person.size() && k < 64; ++k) {
      if (table.datasets()[table.dataset(p)] == once_per_person[k].first && table.role(p) == once_per_person[k].second) {
        set_once_[p] |= uint64_t{1} << k;
      }
    }
  }
}

bool MergeGuard::GivenNamesConflict(uint32_t a, uint32_t b) const {
  const uint64_t nhs_a = At(a, nhs_), nhs_b = At(b, nhs_);
  if (nhs_a != 0 && nhs_a == nhs_b) return false;
  const uint64_t ga = At(a, given_), gb = At(b, given_);
  const uint64_t pa = At(a, given_phonetic_), pb = At(b, given_phonetic_);
  return ga != 0 && gb != 0 && ga != gb && pa != 0 && pb != 0 && pa != pb;
}

bool MergeGuard::Ambiguous(const std::vector<uint32_t>& members) {
  uint64_t first = 0;
  for (uint32_t p : members) {
    const uint64_t nhs = SetNhs(p);
    if (nhs == 0) continue;
    if (first == 0) {
      first = nhs;
    } else if (nhs != first) {
      return true;
    }
  }
  return false;
}

bool MergeGuard::TryMerge(uint32_t a, uint32_t b) {
  uint32_t ra = sets_.Find(a), rb = sets_.Find(b);
  if (ra == rb) return true;
  auto conflict = [](uint64_t x, uint64_t y) { return x != 0 && y != 0 && x != y; };
  if (conflict(set_nhs_[ra], set_nhs_[rb]) || conflict(set_sex_[ra], set_sex_[rb]) ||
      (set_once_[ra] & set_once_[rb]) != 0) {
    return false;
  }
  const uint64_t nhs = set_nhs_[ra] != 0 ? set_nhs_[ra] : set_nhs_[rb];
  const uint64_t sex = set_sex_[ra] != 0 ? set_sex_[ra] : set_sex_[rb];
  const uint32_t root = sets_.UnionRoots(ra, rb);
  set_nhs_[root] = nhs;
  set_sex_[root] = sex;
  set_once_[root] = set_once_[ra] | set_once_[rb];
  return true;
}

}  // namespace trelink
