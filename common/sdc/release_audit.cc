#include "common/sdc/release_audit.h"

#include <glpk.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace trelink {
namespace {
constexpr double kUnbounded = std::numeric_limits<double>::infinity();
}  // namespace

// One LP over the released cells: a column per class that some released
// cell counts, a row per released cell bounded by what the analyst knows.
class AnalystView {
 public:
  AnalystView(const std::vector<std::pair<std::vector<uint32_t>, std::pair<uint64_t, uint64_t>>>& rows,
              size_t classes)
      : column_of_(classes, 0), lp_(glp_create_prob()) {
    std::vector<int> ia{0}, ja{0};
    std::vector<double> ar{0};
    int columns = 0;
    for (const auto& [members, bounds] : rows) {
      for (uint32_t c : members) {
        if (column_of_[c] == 0) column_of_[c] = ++columns;
      }
    }
    // GLPK aborts the process on a call it considers invalid, such as adding
    // no rows: every call here is guarded.
    if (!rows.empty()) glp_add_rows(lp_, static_cast<int>(rows.size()));
    if (columns > 0) glp_add_cols(lp_, columns);
    for (int j = 1; j <= columns; ++j) glp_set_col_bnds(lp_, j, GLP_LO, 0, 0);
    for (size_t r = 0; r < rows.size(); ++r) {
      const auto& [members, bounds] = rows[r];
      const int row = static_cast<int>(r) + 1;
      const double low = static_cast<double>(bounds.first), high = static_cast<double>(bounds.second);
      glp_set_row_bnds(lp_, row, low == high ? GLP_FX : GLP_DB, low, high);
      for (uint32_t c : members) {
        ia.push_back(row);
        ja.push_back(column_of_[c]);
        ar.push_back(1.0);
      }
    }
    glp_load_matrix(lp_, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
    glp_init_smcp(&simplex_);
    simplex_.msg_lev = GLP_MSG_OFF;
    glp_init_iocp(&integer_);
    integer_.msg_lev = GLP_MSG_OFF;
  }
  ~AnalystView() { glp_delete_prob(lp_); }
  AnalystView(const AnalystView&) = delete;
  AnalystView& operator=(const AnalystView&) = delete;

  // False when a class of the count is in no released cell: nothing bounds it.
  bool Bounded(const std::vector<uint32_t>& count) const {
    return std::all_of(count.begin(), count.end(), [&](uint32_t c) { return column_of_[c] != 0; });
  }

  // The feasible interval's width, or a lower bound of it that is at least
  // `threshold`: the true value `truth` is feasible, so a maximum of at
  // least truth + threshold settles it with one LP. Otherwise LP minimum
  // and maximum, and the integer program for a fractional end when the LP
  // interval is narrower than `exact_below`. nullopt: the solver failed or
  // ran out of time, which the caller must treat as a risk.
  std::optional<uint64_t> IntervalWidth(const std::vector<uint32_t>& count, uint64_t truth, uint64_t threshold,
                                        uint64_t exact_below, absl::Time deadline) {
    SetObjective(count, 1.0);
    std::optional<uint64_t> width = Solve(truth, threshold, exact_below, deadline);
    SetObjective(count, 0.0);
    return width;
  }

  // A feasible point maximising the weighted classes (the analyst's view
  // of what the counts could be), as a value per class; nullopt when the
  // solver failed.
  // Each class in `caps` is held at most at its cap while the sum of them
  // is maximised: the optimum then spreads over many classes (a vertex can
  // hold any number of them at their caps) instead of a few.
  std::optional<std::vector<double>> FeasiblePoint(const std::vector<std::pair<uint32_t, double>>& caps,
                                                   absl::Time deadline) {
    for (const auto& [c, cap] : caps) {
      glp_set_obj_coef(lp_, column_of_[c], 1.0);
      glp_set_col_bnds(lp_, column_of_[c], GLP_DB, 0.0, cap);
    }
    std::optional<Bound> top = Optimum(GLP_MAX, false, deadline);
    std::optional<std::vector<double>> point;
    if (top.has_value() && top->value != kUnbounded) {
      point.emplace(column_of_.size(), 0.0);
      for (size_t c = 0; c < column_of_.size(); ++c) {
        if (column_of_[c] != 0) (*point)[c] = glp_get_col_prim(lp_, column_of_[c]);
      }
    }
    for (const auto& [c, cap] : caps) {
      glp_set_obj_coef(lp_, column_of_[c], 0.0);
      glp_set_col_bnds(lp_, column_of_[c], GLP_LO, 0.0, 0.0);
    }
    return point;
  }

 private:
  std::optional<uint64_t> Solve(uint64_t truth, uint64_t threshold, uint64_t exact_below, absl::Time deadline) {
    std::optional<Bound> high = Optimum(GLP_MAX, false, deadline);
    if (!high.has_value()) return std::nullopt;
    if (high->value == kUnbounded) return UINT64_MAX;
    const double top = std::floor(high->value + 1e-6);
    if (top >= static_cast<double>(truth + threshold)) return static_cast<uint64_t>(top) - truth;
    std::optional<Bound> low = Optimum(GLP_MIN, false, deadline);
    if (!low.has_value()) return std::nullopt;
    const uint64_t width = Width(low->value, high->value);
    // An LP optimum at an integer point is the integer optimum too; only a
    // fractional end needs the integer program.
    if (width >= exact_below || (low->integral && high->integral)) return width;
    if (!integer_columns_) MakeColumnsInteger();
    if (!low->integral) low = Optimum(GLP_MIN, true, deadline);
    if (!high->integral) high = Optimum(GLP_MAX, true, deadline);
    if (!low.has_value() || !high.has_value()) return std::nullopt;
    return Width(low->value, high->value);
  }

  static uint64_t Width(double low, double high) {
    if (high == kUnbounded) return UINT64_MAX;
    const double lo = std::ceil(low - 1e-6), hi = std::floor(high + 1e-6);
    return hi <= lo ? 0 : static_cast<uint64_t>(hi - lo);
  }

  void SetObjective(const std::vector<uint32_t>& count, double coefficient) {
    for (uint32_t c : count) glp_set_obj_coef(lp_, column_of_[c], coefficient);
  }

  void MakeColumnsInteger() {
    for (int j = 1; j <= glp_get_num_cols(lp_); ++j) glp_set_col_kind(lp_, j, GLP_IV);
    integer_columns_ = true;
  }

  static int Milliseconds(absl::Time deadline) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    return static_cast<int>(std::clamp<int64_t>(left, 1, INT32_MAX));
  }

  struct Bound {
    double value;
    bool integral;  // attained at an integer point
  };

  bool PrimalIntegral() const {
    for (int j = 1; j <= glp_get_num_cols(lp_); ++j) {
      const double x = glp_get_col_prim(lp_, j);
      if (std::abs(x - std::round(x)) > 1e-9) return false;
    }
    return true;
  }

  std::optional<Bound> Optimum(int direction, bool integer, absl::Time deadline) {
    if (absl::Now() >= deadline) return std::nullopt;
    glp_set_obj_dir(lp_, direction);
    simplex_.tm_lim = Milliseconds(deadline);
    int rc = glp_simplex(lp_, &simplex_);
    if (rc == GLP_EBADB || rc == GLP_ESING || rc == GLP_ECOND) {
      glp_std_basis(lp_);
      rc = glp_simplex(lp_, &simplex_);
    }
    if (rc != 0) return std::nullopt;
    const int status = glp_get_status(lp_);
    if (status == GLP_UNBND) return Bound{direction == GLP_MAX ? kUnbounded : 0.0, true};
    if (status != GLP_OPT) return std::nullopt;
    if (!integer) return Bound{glp_get_obj_val(lp_), PrimalIntegral()};
    integer_.tm_lim = Milliseconds(deadline);
    if (glp_intopt(lp_, &integer_) != 0 || glp_mip_status(lp_) != GLP_OPT) return std::nullopt;
    return Bound{glp_mip_obj_val(lp_), true};
  }

  std::vector<int> column_of_;  // per class; 0: in no released cell
  glp_prob* lp_;
  glp_smcp simplex_;
  glp_iocp integer_;
  bool integer_columns_ = false;
};


ReleaseAudit::ReleaseAudit(uint32_t threshold, size_t persons, bool group_disclosure_check)
    : threshold_(threshold), group_disclosure_check_(group_disclosure_check), class_of_(persons, kNoClass) {}

namespace {

// GLPK keeps an environment per thread, which outlives the thread unless
// freed: one session per check, on whichever worker thread runs it.
class GlpkSession {
 public:
  GlpkSession() { glp_term_out(GLP_OFF); }
  ~GlpkSession() { glp_free_env(); }
  GlpkSession(const GlpkSession&) = delete;
  GlpkSession& operator=(const GlpkSession&) = delete;
};

}  // namespace

uint32_t ReleaseAudit::NewClass() {
  class_size_.push_back(0);
  class_cells_.emplace_back();
  return static_cast<uint32_t>(class_size_.size() - 1);
}

ReleaseAudit::CellId ReleaseAudit::AddCell(absl::Span<const uint64_t> persons, std::string definition) {
  const CellId id = static_cast<CellId>(cells_.size());
  // Split every class the cell cuts: its persons in the cell move to a new
  // class that every cell of the old one also counts. A class the cell
  // holds whole keeps its id; new ids are the largest, so appending keeps
  // each cell's class list sorted.
  absl::flat_hash_map<uint32_t, uint64_t> inside;
  for (uint64_t p : persons) ++inside[class_of_[p]];
  absl::flat_hash_map<uint32_t, uint32_t> moved_to;
  std::vector<uint32_t> classes;
  for (const auto& [old_class, count] : inside) {
    if (old_class != kNoClass && count == class_size_[old_class]) {
      classes.push_back(old_class);
      continue;
    }
    const uint32_t fresh = NewClass();
    if (old_class != kNoClass) {
      class_cells_[fresh] = class_cells_[old_class];
      for (CellId c : class_cells_[fresh]) cells_[c].classes.push_back(fresh);
    }
    moved_to[old_class] = fresh;
    classes.push_back(fresh);
  }
  for (uint64_t p : persons) {
    auto it = moved_to.find(class_of_[p]);
    if (it == moved_to.end()) continue;
    if (class_of_[p] != kNoClass) --class_size_[class_of_[p]];
    class_of_[p] = it->second;
    ++class_size_[it->second];
  }
  std::sort(classes.begin(), classes.end());
  for (uint32_t c : classes) class_cells_[c].push_back(id);
  Cell cell;
  cell.classes = std::move(classes);
  cell.size = persons.size();
  cell.definition = std::move(definition);
  cells_.push_back(std::move(cell));
  return id;
}

ReleaseAudit::CellId ReleaseAudit::AddHiddenZero(absl::Span<const CellId> covering) {
  const uint32_t phantom = NewClass();
  const CellId id = static_cast<CellId>(cells_.size());
  for (CellId c : covering) {
    cells_[c].classes.push_back(phantom);
    class_cells_[phantom].push_back(c);
  }
  class_cells_[phantom].push_back(id);
  Cell cell;
  cell.classes = {phantom};
  cell.hidden_zero = true;
  cells_.push_back(std::move(cell));
  return id;
}

void ReleaseAudit::Release(CellId cell, uint64_t low, uint64_t high) {
  Cell& c = cells_[cell];
  if (c.released) return;
  c.released = true;
  c.low = low;
  c.high = high;
  NotePairs(cell);
  released_by_size_.emplace(c.size, cell);
}

void ReleaseAudit::Suppress(CellId cell) {
  Cell& c = cells_[cell];
  if (!c.released) return;
  c.released = false;
  auto range = released_by_size_.equal_range(c.size);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == cell) {
      released_by_size_.erase(it);
      break;
    }
  }
}

uint64_t ReleaseAudit::DifferenceSize(const Cell& a, const Cell& b) const {
  uint64_t size = 0;
  size_t j = 0;
  for (uint32_t c : a.classes) {
    while (j < b.classes.size() && b.classes[j] < c) ++j;
    if (j == b.classes.size() || b.classes[j] != c) size += class_size_[c];
  }
  return size;
}

// Released cells whose sizes differ by less than k may differ by 1..k-1
// persons; those differences become protected counts.
void ReleaseAudit::NotePairs(CellId cell) {
  const Cell& p = cells_[cell];
  const uint64_t k = threshold_;
  const uint64_t low = p.size >= k ? p.size - k + 1 : 0;
  for (auto it = released_by_size_.lower_bound(low); it != released_by_size_.end() && it->first < p.size + k; ++it) {
    const Cell& q = cells_[it->second];
    const uint64_t p_only = DifferenceSize(p, q), q_only = DifferenceSize(q, p);
    if (p_only >= 1 && p_only < k) differences_.push_back({cell, it->second, false});
    if (q_only >= 1 && q_only < k) differences_.push_back({it->second, cell, false});
    if (p_only == 0 && q_only == 0 && p.size > 0 && group_disclosure_check_ && p.definition != q.definition) {
      differences_.push_back({cell, it->second, true});
    }
  }
}

std::vector<std::vector<uint32_t>> ReleaseAudit::ProtectedCounts() const {
  const uint64_t k = threshold_;
  absl::flat_hash_set<std::vector<uint32_t>> seen;
  std::vector<std::vector<uint32_t>> counts;
  auto add = [&](std::vector<uint32_t> classes) {
    if (!classes.empty() && seen.insert(classes).second) counts.push_back(std::move(classes));
  };
  for (const Cell& cell : cells_) {
    if (!cell.released && (cell.hidden_zero || (cell.size >= 1 && cell.size < k))) add(cell.classes);
  }
  for (uint32_t c = 0; c < class_size_.size(); ++c) {
    if (class_size_[c] >= 1 && class_size_[c] < k) add({c});
  }
  for (const Difference& d : differences_) {
    if (d.equal) continue;
    const Cell& from = cells_[d.from];
    const Cell& minus = cells_[d.minus];
    std::vector<uint32_t> only;
    std::set_difference(from.classes.begin(), from.classes.end(), minus.classes.begin(), minus.classes.end(),
                        std::back_inserter(only));
    add(std::move(only));
  }
  return counts;
}

// Released together, two definitions of the same persons say that everyone
// in one has the other's attribute.
std::vector<ReleaseAudit::Risk> ReleaseAudit::SamePersonRisks() const {
  std::vector<Risk> risks;
  for (const Difference& d : differences_) {
    if (d.equal && cells_[d.from].released && cells_[d.minus].released) {
      risks.push_back({cells_[d.from].classes, 0, true});
    }
  }
  return risks;
}

// Classes that lie in exactly the same released cells are interchangeable
// to the analyst: persons can move between them without changing any
// released count. So a count can be raised by the persons of such classes
// outside it; if they are k or more, its interval is at least k wide. This
// settles most counts of classes cut small by suppressed cells, with no LP.
void ReleaseAudit::CertifyByMovableMass(std::vector<Pending>& pending, uint64_t& safe) const {
  absl::flat_hash_map<std::vector<CellId>, uint32_t> group_of_signature;
  std::vector<uint32_t> group(class_size_.size());
  std::vector<uint64_t> group_size;
  for (uint32_t c = 0; c < class_size_.size(); ++c) {
    std::vector<CellId> signature;
    for (CellId cell : class_cells_[c]) {
      if (cells_[cell].released) signature.push_back(cell);
    }
    auto [it, fresh] = group_of_signature.try_emplace(std::move(signature), static_cast<uint32_t>(group_size.size()));
    if (fresh) group_size.push_back(0);
    group[c] = it->second;
    group_size[it->second] += class_size_[c];
  }
  std::vector<Pending> open;
  for (Pending& p : pending) {
    absl::flat_hash_map<uint32_t, uint64_t> inside;  // group -> persons of the count in it
    for (uint32_t c : p.classes) inside[group[c]] += class_size_[c];
    uint64_t movable = 0;
    for (const auto& [g, in] : inside) movable += group_size[g] - in;
    if (movable >= threshold_) {
      safe = std::min(safe, movable);
    } else {
      open.push_back(std::move(p));
    }
  }
  pending = std::move(open);
}

// Most protected counts are far from narrow. One LP that pushes all their
// classes up at once, each capped at its true size + k, gives a feasible
// point; every count whose value there is at least its true value + k has
// an interval at least k wide (the true value is feasible too), with no LP
// of its own. A few rounds certify most; the rest are solved one by one.
void ReleaseAudit::CertifyWide(AnalystView& view, std::vector<Pending>& pending, uint64_t& safe,
                               absl::Time deadline) const {
  for (int round = 0; round < 40 && pending.size() > 4; ++round) {
    absl::flat_hash_map<uint32_t, double> caps;
    for (const Pending& p : pending) {
      for (uint32_t c : p.classes) caps.emplace(c, static_cast<double>(class_size_[c] + p.truth + threshold_));
    }
    std::optional<std::vector<double>> point =
        view.FeasiblePoint(std::vector<std::pair<uint32_t, double>>(caps.begin(), caps.end()), deadline);
    if (!point.has_value()) return;
    std::vector<Pending> open;
    for (Pending& p : pending) {
      double value = 0;
      for (uint32_t c : p.classes) value += (*point)[c];
      const double top = std::floor(value + 1e-6);
      if (top >= static_cast<double>(p.truth + threshold_)) {
        safe = std::min(safe, static_cast<uint64_t>(top) - p.truth);
      } else {
        open.push_back(std::move(p));
      }
    }
    const size_t certified = pending.size() - open.size();
    pending = std::move(open);
    if (certified * 20 < pending.size() + certified) return;  // under 5%: not worth another round
  }
}

ReleaseAudit::Finding ReleaseAudit::Check(absl::Time deadline, const std::vector<Risk>* only) const {
  Finding finding;
  finding.risks = SamePersonRisks();
  std::vector<std::vector<uint32_t>> counts;
  if (only == nullptr) {
    counts = ProtectedCounts();
  } else {
    for (const Risk& risk : *only) {
      if (!risk.same_persons) counts.push_back(risk.classes);
    }
  }
  std::vector<std::pair<std::vector<uint32_t>, std::pair<uint64_t, uint64_t>>> rows;
  for (const Cell& cell : cells_) {
    if (cell.released && !cell.classes.empty()) rows.push_back({cell.classes, {cell.low, cell.high}});
  }
  const GlpkSession session;  // before the view: the view's problem is freed first
  AnalystView view(rows, class_size_.size());
  uint64_t safe = UINT64_MAX;
  std::vector<Pending> pending;
  for (auto& count : counts) {
    if (!view.Bounded(count)) continue;
    ++finding.protected_counts;
    uint64_t truth = 0;
    for (uint32_t c : count) truth += class_size_[c];
    pending.push_back({std::move(count), truth});
  }
  CertifyByMovableMass(pending, safe);
  CertifyWide(view, pending, safe, deadline);
  for (const Pending& p : pending) {
    std::optional<uint64_t> width =
        view.IntervalWidth(p.classes, p.truth, threshold_, uint64_t{threshold_} + threshold_ / 2, deadline);
    if (!width.has_value()) {
      finding.timed_out = absl::Now() >= deadline;
      finding.risks.push_back({p.classes, 0});
      if (finding.timed_out) break;
      continue;
    }
    if (*width < threshold_) {
      finding.risks.push_back({p.classes, *width});
    } else {
      safe = std::min(safe, *width);
    }
  }
  finding.narrowest_safe = safe;
  return finding;
}

std::vector<ReleaseAudit::CellId> ReleaseAudit::ReleasedCellsTouching(const Risk& risk,
                                                                       absl::Span<const CellId> candidates) const {
  std::vector<CellId> touching;
  for (CellId c : candidates) {
    const Cell& cell = cells_[c];
    if (!cell.released) continue;
    const bool shares = std::any_of(risk.classes.begin(), risk.classes.end(), [&](uint32_t k) {
      return std::binary_search(cell.classes.begin(), cell.classes.end(), k);
    });
    if (shares) touching.push_back(c);
  }
  return touching;
}

}  // namespace trelink
