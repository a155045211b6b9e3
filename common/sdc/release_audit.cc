#include "common/sdc/release_audit.h"

#include <atomic>

#include <glpk.h>

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/time/clock.h"
#include "common/concurrency/parallel.h"
#include "common/sdc/deviation_program.h"

namespace trelink {

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

// A cell's share of the signature of the classes it counts: classes with
// equal signatures lie in the same released cells (up to a 2^-64 chance).
uint64_t CellHash(uint32_t cell) {
  uint64_t z = cell + 0x9e3779b97f4a7c15ULL;  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint32_t ReleaseAudit::NewClass() {
  class_size_.push_back(0);
  signature_.push_back(0);
  class_cells_.emplace_back();
  split_off_.emplace_back();
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
      split_off_[old_class].push_back(fresh);
      class_cells_[fresh] = class_cells_[old_class];
      signature_[fresh] = signature_[old_class];
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
    if (cells_[c].released) signature_[phantom] ^= CellHash(c);
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
  for (uint32_t k : c.classes) signature_[k] ^= CellHash(cell);
  c.low = low;
  c.high = high;
  release_events_.push_back(cell);
  NotePairs(cell);
  released_by_size_.emplace(c.size, cell);
}

void ReleaseAudit::Suppress(CellId cell) {
  Cell& c = cells_[cell];
  if (!c.released) return;
  c.released = false;
  for (uint32_t k : c.classes) signature_[k] ^= CellHash(cell);
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

namespace {

// Where a protected count comes from, as a key that outlives class splits.
enum class Source : uint64_t { kCell = 1, kClass = 2, kDifference = 3, kSamePersons = 4 };
uint64_t SourceKey(Source kind, uint64_t id) { return static_cast<uint64_t>(kind) << 56 | id; }

// How many nearest classes may move with a count's own: first few (small
// programs settle most counts), then more before a count is called a risk.
constexpr size_t kNeighbours[] = {16, 128};
// Released cells of a class that its neighbours are looked for in, smallest
// first, and how many candidates are ranked.
constexpr size_t kProbeCells = 16;
constexpr size_t kCandidates = 2048;

}  // namespace

std::vector<ReleaseAudit::ProtectedCount> ReleaseAudit::ProtectedCounts() const {
  const uint64_t k = threshold_;
  absl::flat_hash_set<std::vector<uint32_t>> seen;
  std::vector<ProtectedCount> counts;
  auto add = [&](uint64_t source, std::vector<uint32_t> classes) {
    if (!classes.empty() && seen.insert(classes).second) counts.push_back({source, std::move(classes)});
  };
  for (CellId id = 0; id < cells_.size(); ++id) {
    const Cell& cell = cells_[id];
    if (!cell.released && (cell.hidden_zero || (cell.size >= 1 && cell.size < k))) {
      add(SourceKey(Source::kCell, id), cell.classes);
    }
  }
  for (uint32_t c = 0; c < class_size_.size(); ++c) {
    if (class_size_[c] >= 1 && class_size_[c] < k) add(SourceKey(Source::kClass, c), {c});
  }
  for (size_t d = 0; d < differences_.size(); ++d) {
    if (differences_[d].equal) continue;
    const Cell& from = cells_[differences_[d].from];
    const Cell& minus = cells_[differences_[d].minus];
    std::vector<uint32_t> only;
    std::set_difference(from.classes.begin(), from.classes.end(), minus.classes.begin(), minus.classes.end(),
                        std::back_inserter(only));
    add(SourceKey(Source::kDifference, d), std::move(only));
  }
  return counts;
}

// Released together, two definitions of the same persons say that everyone
// in one has the other's attribute.
std::vector<ReleaseAudit::Risk> ReleaseAudit::SamePersonRisks() const {
  std::vector<Risk> risks;
  for (size_t i = 0; i < differences_.size(); ++i) {
    const Difference& d = differences_[i];
    if (d.equal && cells_[d.from].released && cells_[d.minus].released) {
      risks.push_back({cells_[d.from].classes, 0, true, SourceKey(Source::kSamePersons, i)});
    }
  }
  return risks;
}

// A count with a class that no released cell counts can be raised without
// limit: nothing to protect.
bool ReleaseAudit::Bounded(const std::vector<uint32_t>& classes) const {
  return std::all_of(classes.begin(), classes.end(), [&](uint32_t c) {
    return std::any_of(class_cells_[c].begin(), class_cells_[c].end(), [&](CellId id) { return cells_[id].released; });
  });
}

bool ReleaseAudit::Satisfies(const std::vector<std::pair<uint32_t, int64_t>>& point, const Cell& cell) const {
  int64_t moved = 0;
  for (const auto& [c, d] : point) {
    if (std::binary_search(cell.classes.begin(), cell.classes.end(), c)) moved += d;
  }
  const auto size = static_cast<int64_t>(cell.size);
  return moved >= static_cast<int64_t>(cell.low) - size && moved <= static_cast<int64_t>(cell.high) - size;
}

// A witness found earlier holds while both its points satisfy every cell
// released since and no class it lowers has shrunk below the lowering.
// Splitting a class does not break it: the deviation stays with the part
// that keeps the class's id, and every cell released before the split
// counts both parts.
bool ReleaseAudit::StillHolds(Witness& witness, const std::vector<uint32_t>& classes) const {
  for (const auto* point : {&witness.high, &witness.low}) {
    for (const auto& [c, d] : *point) {
      if (static_cast<int64_t>(class_size_[c]) + d < 0) return false;
    }
  }
  // A cell the points do not satisfy stops the check there: if it is
  // withheld again, the witness holds once more.
  for (; witness.checked_upto < release_events_.size(); ++witness.checked_upto) {
    const Cell& cell = cells_[release_events_[witness.checked_upto]];
    if (cell.released && !(Satisfies(witness.high, cell) && Satisfies(witness.low, cell))) return false;
  }
  int64_t gap = 0;
  for (const auto* point : {&witness.high, &witness.low}) {
    for (const auto& [c, d] : *point) {
      if (std::binary_search(classes.begin(), classes.end(), c)) gap += point == &witness.high ? d : -d;
    }
  }
  witness.gap = static_cast<uint64_t>(std::max<int64_t>(gap, 0));
  return gap >= static_cast<int64_t>(threshold_);
}

// Classes in exactly the same released cells are interchangeable to the
// analyst: moving persons between them changes no released count. A count
// whose classes have k or more such persons outside it is settled by
// moving them in, with no solver.
std::optional<ReleaseAudit::Witness> ReleaseAudit::MovableWitness(
    const std::vector<uint32_t>& classes, const absl::flat_hash_map<uint64_t, std::vector<uint32_t>>& alike) const {
  Witness witness;
  int64_t moved = 0;
  const auto k = static_cast<int64_t>(threshold_);
  for (uint32_t own : classes) {
    auto group = alike.find(signature_[own]);
    if (group == alike.end()) continue;
    int64_t into = 0;
    for (uint32_t donor : group->second) {
      if (moved >= k) break;
      if (class_size_[donor] == 0 || std::binary_search(classes.begin(), classes.end(), donor)) continue;
      const int64_t take = std::min(static_cast<int64_t>(class_size_[donor]), k - moved);
      witness.high.emplace_back(donor, -take);
      into += take;
      moved += take;
    }
    if (into > 0) witness.high.emplace_back(own, into);
  }
  if (moved < k) return std::nullopt;
  witness.gap = static_cast<uint64_t>(moved);
  return witness;
}

// The classes with each of `signatures` (in the same released cells),
// largest first.
absl::flat_hash_map<uint64_t, std::vector<uint32_t>> ReleaseAudit::AlikeClasses(
    const absl::flat_hash_set<uint64_t>& signatures) const {
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> alike;
  if (signatures.empty()) return alike;
  for (uint32_t c = 0; c < class_size_.size(); ++c) {
    if (signatures.contains(signature_[c])) alike[signature_[c]].push_back(c);
  }
  for (auto& [signature, members] : alike) {
    std::sort(members.begin(), members.end(), [&](uint32_t a, uint32_t b) { return class_size_[a] > class_size_[b]; });
  }
  return alike;
}

// The classes that may move with a count's own: for each of its classes,
// those in most of its smallest released cells (persons can move between
// them while those cells stay put), larger ones first among equals.
std::vector<uint32_t> ReleaseAudit::Neighbourhood(const std::vector<uint32_t>& classes, size_t neighbours) const {
  // Dense per-class scratch, reset through the lists of what was touched:
  // a probe cell can count thousands of classes, and this runs for every
  // count not settled otherwise.
  thread_local std::vector<uint32_t> shared;  // per class: probe cells it is in (0: not a candidate)
  thread_local std::vector<uint8_t> taken;
  if (shared.size() < class_size_.size()) {
    shared.resize(class_size_.size(), 0);
    taken.resize(class_size_.size(), 0);
  }
  std::vector<uint32_t> chosen = classes;
  for (uint32_t c : classes) taken[c] = 1;
  const size_t per_class = std::max<size_t>(4, neighbours / classes.size());
  std::vector<uint32_t> candidates;
  for (uint32_t own : classes) {
    std::vector<CellId> probes;
    for (CellId id : class_cells_[own]) {
      if (cells_[id].released) probes.push_back(id);
    }
    std::sort(probes.begin(), probes.end(), [&](CellId a, CellId b) { return cells_[a].size < cells_[b].size; });
    probes.resize(std::min(probes.size(), kProbeCells));
    candidates.clear();
    for (CellId probe : probes) {
      for (uint32_t c : cells_[probe].classes) {
        if (taken[c] || (shared[c] == 0 && candidates.size() >= kCandidates)) continue;
        if (shared[c]++ == 0) candidates.push_back(c);
      }
    }
    std::vector<std::pair<uint32_t, uint32_t>> ranked;  // candidate, probe cells it is in
    ranked.reserve(candidates.size());
    for (uint32_t c : candidates) {
      ranked.emplace_back(c, shared[c]);
      shared[c] = 0;
    }
    const size_t keep = std::min(per_class, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(),
                      [&](const auto& a, const auto& b) {
                        if (a.second != b.second) return a.second > b.second;
                        if (class_size_[a.first] != class_size_[b.first]) {
                          return class_size_[a.first] > class_size_[b.first];
                        }
                        return a.first < b.first;
                      });
    for (size_t i = 0; i < keep; ++i) {
      if (!taken[ranked[i].first]) {
        taken[ranked[i].first] = 1;
        chosen.push_back(ranked[i].first);
      }
    }
  }
  for (uint32_t c : chosen) taken[c] = 0;
  return chosen;
}

namespace {

// What a deviation program is made of, in a fixed order, as 64 bits that do
// not depend on the process (a collision could only call a safe count a
// risk, never the reverse).
uint64_t ProgramDigest(const std::vector<DeviationProgram::Column>& columns, const std::vector<DeviationProgram::Row>& rows,
                       size_t objective) {
  uint64_t digest = 0x6a09e667f3bcc909ULL;
  auto mix = [&](uint64_t value) {
    digest ^= value + 0x9e3779b97f4a7c15ULL + (digest << 6) + (digest >> 2);
    digest *= 0xff51afd7ed558ccdULL;
  };
  mix(objective);
  mix(columns.size());
  for (const DeviationProgram::Column& column : columns) {
    mix(static_cast<uint64_t>(column.low));
    mix(static_cast<uint64_t>(column.high));
  }
  mix(rows.size());
  for (const DeviationProgram::Row& row : rows) {
    mix(row.columns.size());
    for (int c : row.columns) mix(static_cast<uint64_t>(c));
    mix(static_cast<uint64_t>(row.low));
    mix(static_cast<uint64_t>(row.high));
  }
  return digest;
}

}  // namespace

// Adds to `moving` the classes a broken witness moved and the parts split
// off them since, unless that makes more than `limit` new columns. The
// cells released before the witness count each such family whole, so the
// old points, spread over the parts anew, still satisfy them; the program
// finds whether a spread satisfies the new cells too.
void ReleaseAudit::AddWitnessFamilies(const Witness& witness, size_t limit, std::vector<uint32_t>& moving) const {
  absl::flat_hash_set<uint32_t> taken(moving.begin(), moving.end());
  std::vector<uint32_t> stack, added;
  for (const auto* point : {&witness.high, &witness.low}) {
    for (const auto& [c, d] : *point) stack.push_back(c);
  }
  while (!stack.empty()) {
    const uint32_t c = stack.back();
    stack.pop_back();
    if (!taken.insert(c).second) continue;
    if (added.size() == limit) return;
    added.push_back(c);
    // Parts split off before the witness was found were classes of their
    // own then, held at their sizes.
    for (auto it = split_off_[c].rbegin(); it != split_off_[c].rend() && *it >= witness.classes_then; ++it) {
      stack.push_back(*it);
    }
  }
  moving.insert(moving.end(), added.begin(), added.end());
}

// A row per distinct set of `moving` columns that released cells count,
// bounded by the tightest of those cells, in a fixed order (the solver's
// path, and which of equal optima it finds, must not depend on a hash
// table's per-process seed). Built over dense per-cell scratch: a column's
// class is in hundreds of cells once a project has many releases, and this
// runs for every program.
std::vector<DeviationProgram::Row> ReleaseAudit::RowsOver(const std::vector<uint32_t>& moving) const {
  thread_local std::vector<uint32_t> slot;  // per cell: its index in `touched` + 1 (0: not touched)
  if (slot.size() < cells_.size()) slot.resize(cells_.size(), 0);
  std::vector<CellId> touched;
  std::vector<uint32_t> counts;  // per touched cell: how many of the columns it counts
  for (const uint32_t c : moving) {
    for (const CellId id : class_cells_[c]) {
      if (!cells_[id].released) continue;
      if (slot[id] == 0) {
        touched.push_back(id);
        counts.push_back(0);
        slot[id] = static_cast<uint32_t>(touched.size());
      }
      ++counts[slot[id] - 1];
    }
  }
  std::vector<uint32_t> begin(touched.size() + 1, 0);  // where each touched cell's columns begin in `members`
  for (size_t t = 0; t < touched.size(); ++t) begin[t + 1] = begin[t] + counts[t];
  std::vector<int> members(begin.back());  // each touched cell's columns, ascending, back to back
  std::vector<uint32_t> cursor(begin.begin(), begin.end() - 1);
  for (size_t j = 0; j < moving.size(); ++j) {
    for (const CellId id : class_cells_[moving[j]]) {
      if (cells_[id].released) members[cursor[slot[id] - 1]++] = static_cast<int>(j);
    }
  }
  auto span_of = [&](size_t t) {
    return absl::MakeConstSpan(members.data() + begin[t], begin[t + 1] - begin[t]);
  };
  std::vector<uint32_t> order(touched.size());
  for (uint32_t t = 0; t < order.size(); ++t) order[t] = t;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto x = span_of(a), y = span_of(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
  });
  std::vector<DeviationProgram::Row> rows;
  for (size_t i = 0; i < order.size(); ++i) {
    const Cell& cell = cells_[touched[order[i]]];
    const auto size = static_cast<int64_t>(cell.size);
    const int64_t low = static_cast<int64_t>(cell.low) - size, high = static_cast<int64_t>(cell.high) - size;
    const auto columns = span_of(order[i]);
    if (i > 0 && std::equal(columns.begin(), columns.end(), rows.back().columns.begin(), rows.back().columns.end())) {
      rows.back().low = std::max(rows.back().low, low);
      rows.back().high = std::min(rows.back().high, high);
      continue;
    }
    rows.push_back({std::vector<int>(columns.begin(), columns.end()), low, high});
  }
  for (const CellId id : touched) slot[id] = 0;
  return rows;
}

// The analyst's problem restricted to the count's neighbourhood: a column
// per class that may move, a row per distinct way the released cells
// count them (cells counting the same columns are one row, bounded by the
// tightest of them).
std::optional<ReleaseAudit::Witness> ReleaseAudit::Certify(const std::vector<uint32_t>& classes,
                                                           const std::vector<uint32_t>& moving, absl::Time deadline,
                                                           const Unsettled* before, Unsettled& now) const {
  const auto cap = static_cast<int64_t>(4 * uint64_t{threshold_});
  std::vector<DeviationProgram::Column> columns;
  columns.reserve(moving.size());
  for (uint32_t c : moving) columns.push_back({-static_cast<int64_t>(class_size_[c]), cap});
  std::vector<DeviationProgram::Row> rows = RowsOver(moving);
  // The program's answer depends on nothing else: if it is the one that
  // found no witness before, it finds none again.
  now = {ProgramDigest(columns, rows, classes.size()), 0};
  if (before != nullptr && before->program == now.program) {
    now.width = before->width;
    return std::nullopt;
  }
  uint64_t& width = now.width;
  DeviationProgram program(std::move(columns), std::move(rows));
  std::vector<int> objective(classes.size());
  for (size_t j = 0; j < classes.size(); ++j) objective[j] = static_cast<int>(j);  // the count's classes come first

  auto sparse = [&](const std::vector<int64_t>& point) {
    std::vector<std::pair<uint32_t, int64_t>> out;
    for (size_t j = 0; j < point.size(); ++j) {
      if (point[j] != 0) out.emplace_back(moving[j], point[j]);
    }
    return out;
  };
  auto on_count = [&](const std::vector<int64_t>& point) {
    int64_t sum = 0;
    for (int j : objective) sum += point[static_cast<size_t>(j)];
    return sum;
  };
  // A point k above the truth settles the count with the truth itself as
  // the other point: the search stops at the first it finds.
  const auto k = static_cast<int64_t>(threshold_);
  std::optional<std::vector<int64_t>> high = program.Extreme(objective, true, deadline, k);
  if (!high.has_value()) return std::nullopt;
  Witness witness;
  witness.high = sparse(*high);
  int64_t gap = on_count(*high);
  if (gap < k) {
    std::optional<std::vector<int64_t>> low = program.Extreme(objective, false, deadline, gap - k);
    if (!low.has_value()) return std::nullopt;
    witness.low = sparse(*low);
    gap -= on_count(*low);
  }
  width = static_cast<uint64_t>(std::max<int64_t>(gap, 0));
  if (gap < k) return std::nullopt;
  witness.gap = width;
  return witness;
}

ReleaseAudit::Finding ReleaseAudit::Check(absl::Time deadline, std::optional<absl::Span<const Risk>> only) {
  Finding finding;
  finding.risks = SamePersonRisks();
  std::vector<ProtectedCount> counts;
  if (!only.has_value()) {
    counts = ProtectedCounts();
  } else {
    for (const Risk& risk : *only) {
      if (!risk.same_persons) counts.push_back({risk.source, risk.classes});
    }
  }
  // First what needs no solver: a witness that still holds, or persons
  // that move freely between classes alike.
  struct Pending {
    ProtectedCount* count;
    std::optional<Witness> witness;
    const Witness* broken = nullptr;                 // a witness that held before this check
    const std::vector<Unsettled>* before = nullptr;  // unsettled_ of the count, if any
    std::vector<Unsettled> tried;                    // one per neighbourhood that found no witness
  };
  std::vector<Pending> pending;
  uint64_t safe = UINT64_MAX;
  for (ProtectedCount& count : counts) {
    if (!Bounded(count.classes)) continue;
    ++finding.protected_counts;
    auto known = witnesses_.find(count.source);
    if (known != witnesses_.end() && StillHolds(known->second, count.classes)) {
      safe = std::min(safe, known->second.gap);
      continue;
    }
    Pending& p = pending.emplace_back();
    p.count = &count;
    if (known != witnesses_.end()) p.broken = &known->second;
    if (auto it = unsettled_.find(count.source); it != unsettled_.end()) p.before = &it->second;
  }
  absl::flat_hash_set<uint64_t> signatures;
  for (const Pending& p : pending) {
    for (uint32_t c : p.count->classes) signatures.insert(signature_[c]);
  }
  const absl::flat_hash_map<uint64_t, std::vector<uint32_t>> alike = AlikeClasses(signatures);
  for (Pending& p : pending) p.witness = MovableWitness(p.count->classes, alike);
  // Then the integer programs, each independent of the others, on the
  // machine's cores: the same witnesses as one after another.
  std::atomic<size_t> next{0};
  OnEachThread(std::min(WorkerThreads(), pending.size()), [&](size_t) {
    const GlpkSession session;
    for (size_t i = next++; i < pending.size(); i = next++) {
      Pending& p = pending[i];
      for (size_t neighbours : kNeighbours) {
        if (p.witness.has_value() || absl::Now() >= deadline) break;
        const size_t level = p.tried.size();
        const Unsettled* before = p.before != nullptr && level < p.before->size() ? &(*p.before)[level] : nullptr;
        std::vector<uint32_t> moving = Neighbourhood(p.count->classes, neighbours);
        // A broken witness is often mended by spreading its points over
        // the parts its classes were split into.
        if (p.broken != nullptr && level == 0) AddWitnessFamilies(*p.broken, neighbours, moving);
        p.witness = Certify(p.count->classes, moving, deadline, before, p.tried.emplace_back());
      }
    }
  });
  // Every witness found is kept; past the deadline the check is void (the
  // caller withholds the table) and only the witnesses count.
  finding.timed_out = absl::Now() >= deadline &&
                      std::any_of(pending.begin(), pending.end(), [](const Pending& p) { return !p.witness.has_value(); });
  for (Pending& p : pending) {
    if (p.witness.has_value()) {
      p.witness->checked_upto = release_events_.size();
      p.witness->classes_then = static_cast<uint32_t>(class_size_.size());
      safe = std::min(safe, p.witness->gap);
      witnesses_.insert_or_assign(p.count->source, std::move(*p.witness));
      unsettled_.erase(p.count->source);
    } else if (!finding.timed_out) {
      const uint64_t width = p.tried.empty() ? 0 : p.tried.back().width;
      finding.risks.push_back({std::move(p.count->classes), width, false, p.count->source});
      unsettled_.insert_or_assign(p.count->source, std::move(p.tried));
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

std::vector<ReleaseAudit::CellId> ReleaseAudit::ReleasedCellsNear(const Risk& risk,
                                                                   absl::Span<const CellId> candidates) const {
  const absl::flat_hash_set<CellId> own(candidates.begin(), candidates.end());
  absl::flat_hash_set<uint32_t> neighbours;  // classes sharing an earlier released cell with the risk
  for (uint32_t c : risk.classes) {
    for (CellId id : class_cells_[c]) {
      if (!cells_[id].released || own.contains(id)) continue;
      neighbours.insert(cells_[id].classes.begin(), cells_[id].classes.end());
    }
  }
  std::vector<CellId> near;
  for (CellId c : candidates) {
    const Cell& cell = cells_[c];
    if (cell.released && std::any_of(cell.classes.begin(), cell.classes.end(),
                                     [&](uint32_t k) { return neighbours.contains(k); })) {
      near.push_back(c);
    }
  }
  return near;
}

}  // namespace trelink
