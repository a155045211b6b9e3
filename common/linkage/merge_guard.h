// The guards that keep linkage from over-merging: two sets whose NHS numbers
// (or sexes) disagree are never joined, and a pair whose given names agree
// neither exactly nor phonetically is not joined on a key that does not
// include the NHS number (twins share surname, date of birth and address).
#pragma once

#include <cstdint>
#include <vector>

#include "common/linkage/participant_table.h"
#include "common/linkage/union_find.h"

namespace trelink {

class MergeGuard {
 public:
  // Slots of t.nhs, t.sex, t.given_name and t.given_phonetic (-1 if absent).
  // `once_per_person` lists (dataset, role) pairs a person holds at most once.
  MergeGuard(const ParticipantTable& table, UnionFind& sets,
             const std::vector<std::pair<std::string, std::string>>& once_per_person = {});

  // True when a and b (participants) are likely twins or otherwise different
  // people by their given names, and their NHS numbers do not vouch for them.
  bool GivenNamesConflict(uint32_t a, uint32_t b) const;

  // The NHS fingerprint of p's set; 0 when the set has none.
  uint64_t SetNhs(uint32_t p) { return set_nhs_[sets_.Find(p)]; }

  // True when `members` reach two or more sets with different NHS numbers:
  // a participant without one could belong to either, so none is chosen.
  bool Ambiguous(const std::vector<uint32_t>& members);

  // Joins the sets of a and b unless their NHS numbers or sexes conflict or
  // both hold a once-per-person role (two births are two babies).
  // Returns false (and changes nothing) when refused; true when joined or
  // already together.
  bool TryMerge(uint32_t a, uint32_t b);

 private:
  uint64_t At(uint32_t p, int slot) const { return slot < 0 ? 0 : table_.Key(p, slot); }

  const ParticipantTable& table_;
  UnionFind& sets_;
  int nhs_, sex_, given_, given_phonetic_;
  std::vector<uint64_t> set_nhs_;  // by root; 0 unknown
  std::vector<uint64_t> set_sex_;
  std::vector<uint64_t> set_once_;  // by root: bit per once-per-person (dataset, role) held
};

}  // namespace trelink
