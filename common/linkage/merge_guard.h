// The guards that keep linkage from over-merging. They hold in every pass,
// the NHS-number pass included:
//   - two sets whose NHS numbers or sexes disagree are never joined;
//   - a set never holds two participants of one record (a mother is not her
//     own baby) nor two once-per-person participants (two births are two
//     babies), nor two babies whose mothers' NHS numbers differ (a baby has
//     one mother);
//   - a deterministic pass never joins sets holding two participants whose
//     dates of birth are implausibly far apart (the mother's NHS number
//     keyed on her baby's row), where "far" means no agreement on the date,
//     the day/month transposition, the year and month, or the year within
//     one (the probabilistic pass weighs this in its model instead);
//   - for keys that do not include the NHS number, a pair whose given names
//     agree neither exactly, nor phonetically, nor swapped with the family
//     name is not joined (twins share surname, date of birth and address).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/linkage/participant_table.h"
#include "common/linkage/union_find.h"

namespace trelink {

// A person takes part in at most one record of `dataset` in `role` with one
// of `events` (the catalogue's once_per_person).
struct OncePerPersonRule {
  std::string dataset;
  std::string role;
  std::vector<std::string> events;
};

// Participants of `role` in `dataset` have one related person each (a
// baby's mother: the catalogue's one_from_role_person).
struct OneRelatedPersonRule {
  std::string dataset;
  std::string role;
};

class MergeGuard {
 public:
  MergeGuard(const ParticipantTable& table, UnionFind& sets, const std::vector<OncePerPersonRule>& once_per_person = {},
             const std::vector<OneRelatedPersonRule>& one_related_person = {});

  // True when a and b are likely twins or otherwise different people by
  // their given names, and their NHS numbers do not vouch for them.
  bool GivenNamesConflict(uint32_t a, uint32_t b) const;

  // True when `members` reach two or more sets with different NHS numbers:
  // a participant without one could belong to either, so a deterministic
  // key shared by them chooses none.
  bool Ambiguous(const std::vector<uint32_t>& members);

  // True when both dates of birth are known and agree at no level.
  bool DatesOfBirthConflict(uint32_t a, uint32_t b) const;

  // Which guards a merge goes through. The deterministic passes have no
  // evidence but the key, so dates of birth that agree at no level veto
  // them; the probabilistic pass weighs dates of birth in its model (a
  // provider may replace a date wholesale) and is vetoed only by facts.
  enum class Evidence { kKeyOnly, kModelWeighed };

  // Joins the sets of a and b unless a guard above refuses. Returns false
  // (and changes nothing) when refused; true when joined or already together.
  bool TryMerge(uint32_t a, uint32_t b, Evidence evidence = Evidence::kKeyOnly);

  // Joins the sets of a and b without asking the guards: for persons an
  // earlier linkage made (through the guards) and an incremental one keeps.
  void Join(uint32_t a, uint32_t b);

 private:
  uint64_t At(uint32_t p, int slot) const { return slot < 0 ? 0 : table_.Key(p, slot); }
  bool SlotAgrees(uint32_t a, uint32_t b, int slot) const;
  // Members of the set rooted at `root` (a singleton has no list).
  template <typename Visit>
  void ForEachMember(uint32_t root, Visit visit) const;
  bool MembersConflict(uint32_t ra, uint32_t rb, bool check_dates_of_birth) const;
  // True when a and b each have one related person, and those are known to
  // be two people (their sets' NHS numbers differ).
  bool RelatedPersonsDiffer(uint32_t a, uint32_t b) const;

  const ParticipantTable& table_;
  UnionFind& sets_;
  int nhs_, sex_, given_, given_phonetic_, names_unordered_;
  std::vector<int> dob_levels_;  // token slots that show two dates of birth may be one
  std::vector<uint64_t> set_nhs_;  // by root; 0 unknown
  std::vector<uint64_t> set_sex_;
  std::vector<uint64_t> set_once_;  // by root: bit per once-per-person rule held
  std::vector<std::vector<uint32_t>> members_;  // by root, for sets of two or more
  // Per participant, its one related person (kNoRelated when the rule does
  // not apply).
  std::vector<uint32_t> one_related_;
};

}  // namespace trelink
