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
// Each count is settled by two integer points that the analyst cannot rule
// out and that differ on it by k or more. They are found by a small
// integer program (deviation_program.h) in which only the count's classes
// and their nearest neighbours may move and every other class keeps its
// true size: a restriction of the analyst's problem, so a count it calls
// safe is safe, and a count it cannot settle is treated as a risk. The two
// points move few classes (deviation_program.h) and are kept and checked
// against each later release; most stay valid, so each check solves only
// for what the new table touched, and a broken pair is first looked for
// again among the parts its classes were split into. A count left at risk
// keeps a digest of its programs: while nothing they read has changed,
// they are not solved again.
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

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/sdc/deviation_program.h"

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
    uint64_t source = 0;            // which protected count (ReleaseAudit's own key)
  };
  struct Finding {
    std::vector<Risk> risks;
    uint32_t protected_counts = 0;
    // A lower bound of the narrowest interval among the counts found safe
    // (the distance of their two points); UINT64_MAX when there were none.
    uint64_t narrowest_safe = UINT64_MAX;
    bool timed_out = false;
  };
  // Checks every protected count against every released cell, or only the
  // counts of `only` (earlier risks: withholding a cell can only widen
  // intervals, so nothing else needs checking again).
  Finding Check(absl::Time deadline, std::optional<absl::Span<const Risk>> only = std::nullopt);

  // Released cells among `candidates` that count persons of `risk`.
  std::vector<CellId> ReleasedCellsTouching(const Risk& risk, absl::Span<const CellId> candidates) const;
  // Released cells among `candidates` that count persons of a released cell
  // that counts persons of `risk`: they narrow it by subtraction (a cell of
  // 20 with the risk's 3 persons, and a new cell of the other 17).
  std::vector<CellId> ReleasedCellsNear(const Risk& risk, absl::Span<const CellId> candidates) const;

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

  // A protected count: where it comes from (a suppressed cell, a class or
  // a difference) and the classes it sums now.
  struct ProtectedCount {
    uint64_t source;
    std::vector<uint32_t> classes;
  };
  std::vector<ProtectedCount> ProtectedCounts() const;
  std::vector<Risk> SamePersonRisks() const;
  bool Bounded(const std::vector<uint32_t>& classes) const;

  // Two points the analyst cannot rule out, as deviations from the true
  // class sizes (classes not listed keep theirs), that differ on the count
  // by `gap` >= k.
  struct Witness {
    std::vector<std::pair<uint32_t, int64_t>> high, low;
    uint64_t gap = 0;
    size_t checked_upto = 0;  // release_events_ both points satisfy
    uint32_t classes_then = 0;  // classes when it was found (later ones split off since)
  };
  bool StillHolds(Witness& witness, const std::vector<uint32_t>& classes) const;
  bool Satisfies(const std::vector<std::pair<uint32_t, int64_t>>& point, const Cell& cell) const;
  // The witness of a count, or the width of the narrowest interval found.
  // A program that found no witness, by what it was made of: the same
  // program later (nothing it reads has changed) is not solved again.
  struct Unsettled {
    uint64_t program = 0;  // ProgramDigest
    uint64_t width = 0;
  };
  std::optional<Witness> Certify(const std::vector<uint32_t>& classes, const std::vector<uint32_t>& moving,
                                 absl::Time deadline, const Unsettled* before, Unsettled& now) const;
  std::vector<DeviationProgram::Row> RowsOver(const std::vector<uint32_t>& moving) const;
  void AddWitnessFamilies(const Witness& witness, size_t limit, std::vector<uint32_t>& moving) const;
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> AlikeClasses(const absl::flat_hash_set<uint64_t>& signatures) const;
  std::optional<Witness> MovableWitness(const std::vector<uint32_t>& classes,
                                       const absl::flat_hash_map<uint64_t, std::vector<uint32_t>>& alike) const;
  std::vector<uint32_t> Neighbourhood(const std::vector<uint32_t>& classes, size_t neighbours) const;

  uint32_t threshold_;
  bool group_disclosure_check_;
  std::vector<uint32_t> class_of_;  // per person
  std::vector<uint64_t> class_size_;
  std::vector<uint64_t> signature_;  // per class: XOR of the hashes of the released cells counting it
  std::vector<std::vector<CellId>> class_cells_;
  std::vector<std::vector<uint32_t>> split_off_;  // per class: the classes split off it, in order
  std::vector<Cell> cells_;
  std::multimap<uint64_t, CellId> released_by_size_;
  std::vector<Difference> differences_;
  std::vector<CellId> release_events_;  // every Release, in order
  absl::flat_hash_map<uint64_t, Witness> witnesses_;  // by protected count source
  // By protected count source, one per size of neighbourhood tried.
  absl::flat_hash_map<uint64_t, std::vector<Unsettled>> unsettled_;
};

}  // namespace trelink
