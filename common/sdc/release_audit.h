// The release audit of sdc mode. Every cell ever counted in a project -
// released or suppressed - is a set of persons; the persons that fall in
// exactly the same cells form a class. An analyst knows, for each released
// cell, an interval for the sum of its classes' sizes (its rounded count),
// and nothing of suppressed cells. The audit asks an LP solver (GLPK), for
// every protected count, how narrow an interval those intervals force on
// it; a count of 1..k-1 persons must keep an interval at least k wide.
//
// Protected counts:
//   - a suppressed cell of 1..k-1 persons, and a suppressed zero that the
//     policy hides (a class of no persons inside the cell's margins);
//   - a class of 1..k-1 persons ("in cells A and B, not in C" is a count an
//     analyst can define);
//   - the difference P \ Q of two released cells of 1..k-1 persons, and,
//     with the group-disclosure check, two differently defined released
//     cells with exactly the same persons ("everyone in the cohort had the
//     flag").
// Where an LP interval is narrower than 2k, the integer program decides
// (an LP interval can be wider than the integer one an attacker solves).
//
// One instance holds one project over the persons of one linkage
// generation. No gRPC, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace trelink {

// The persons of one linkage generation as disclosure control sees them.
class PersonSpace {
 public:
  virtual ~PersonSpace() = default;
  virtual uint64_t generation() const = 0;
  virtual size_t persons() const = 0;
  // A person's stable identity across generations: the smallest
  // participant key of their records.
  virtual uint64_t anchor(uint32_t person) const = 0;
  // The person whose records include participant `key`, if any.
  virtual std::optional<uint32_t> PersonOfParticipant(uint64_t key) const = 0;
};

class AnalystView;  // the LP over released cells (release_audit.cc)

class ReleaseAudit {
 public:
  using CellId = uint32_t;

  ReleaseAudit(uint32_t threshold, size_t persons, bool group_disclosure_check);

  // A cell counted over `persons` (sorted, distinct, each < persons()),
  // suppressed until Release().
  CellId AddCell(absl::Span<const uint64_t> persons, std::string definition);
  // A suppressed cell of no persons that must not be pinned to zero: a class
  // of its own inside `covering` (the margins that add it up).
  CellId AddHiddenZero(absl::Span<const CellId> covering);
  void Release(CellId cell, uint64_t low, uint64_t high);
  void Suppress(CellId cell);

  bool released(CellId cell) const { return cells_[cell].released; }
  uint64_t size(CellId cell) const { return cells_[cell].size; }
  size_t cells() const { return cells_.size(); }
  size_t classes() const { return class_size_.size(); }

  // A protected count whose interval is too narrow.
  struct Risk {
    std::vector<uint32_t> classes;  // the count is the sum of these classes' sizes
    uint64_t interval;              // its feasible interval's width (max - min)
    bool same_persons = false;      // two differently defined released cells with the same persons
  };
  struct Finding {
    std::vector<Risk> risks;
    uint32_t protected_counts = 0;
    // The narrowest interval among the counts at least k wide (a lower
    // bound where a count was settled by a feasible point); UINT64_MAX
    // when there were none.
    uint64_t narrowest_safe = UINT64_MAX;
    bool timed_out = false;
  };
  // Checks every protected count against every released cell, or only the
  // counts of `only` (earlier risks: withholding a cell can only widen
  // intervals, so nothing else needs checking again).
  Finding Check(absl::Time deadline, const std::vector<Risk>* only = nullptr) const;

  // Released cells among `candidates` that count persons of `risk`.
  std::vector<CellId> ReleasedCellsTouching(const Risk& risk, absl::Span<const CellId> candidates) const;

 private:
  static constexpr uint32_t kNoClass = UINT32_MAX;
  struct Cell {
    std::vector<uint32_t> classes;  // sorted
    uint64_t size = 0;
    bool released = false;
    bool hidden_zero = false;
    uint64_t low = 0, high = 0;
    std::string definition;
  };
  struct Difference {
    CellId from, minus;  // from \ minus
    bool equal = false;  // the two have exactly the same persons
  };

  uint32_t NewClass();
  uint64_t DifferenceSize(const Cell& a, const Cell& b) const;
  void NotePairs(CellId cell);
  std::vector<std::vector<uint32_t>> ProtectedCounts() const;
  struct Pending {
    std::vector<uint32_t> classes;
    uint64_t truth;
  };
  void CertifyByMovableMass(std::vector<Pending>& pending, uint64_t& safe) const;
  void CertifyWide(AnalystView& view, std::vector<Pending>& pending, uint64_t& safe, absl::Time deadline) const;
  std::vector<Risk> SamePersonRisks() const;

  uint32_t threshold_;
  bool group_disclosure_check_;
  std::vector<uint32_t> class_of_;  // per person
  std::vector<uint64_t> class_size_;
  std::vector<std::vector<CellId>> class_cells_;
  std::vector<Cell> cells_;
  std::multimap<uint64_t, CellId> released_by_size_;
  std::vector<Difference> differences_;
};

}  // namespace trelink
