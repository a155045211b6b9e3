#include "common/sdc/disclosure_control.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

using trelink::v1::CellStatus;

// A line of the table: cells along one dimension with the others fixed,
// and the margin that is their sum.
struct Line {
  std::vector<size_t> members;
  size_t total;
  size_t dimension;  // the dimension the line runs along
};

std::vector<Line> Lines(const CountTableDraft& table) {
  std::map<std::vector<int>, size_t> index;
  for (size_t c = 0; c < table.cells.size(); ++c) index[table.cells[c].coords] = c;
  std::vector<Line> lines;
  for (size_t c = 0; c < table.cells.size(); ++c) {
    const std::vector<int>& coords = table.cells[c].coords;
    for (size_t d = 0; d < coords.size(); ++d) {
      if (coords[d] != -1) continue;  // c is the margin of lines along dimension d
      Line line{{}, c, d};
      std::vector<int> member = coords;
      for (int v = 0; v < table.dimension_sizes[d]; ++v) {
        member[d] = v;
        auto it = index.find(member);
        if (it != index.end()) line.members.push_back(it->second);
      }
      if (!line.members.empty()) lines.push_back(std::move(line));
    }
  }
  return lines;
}

}  // namespace

bool IsSuppressed(CellStatus status) { return status == trelink::v1::SUPPRESSED; }

uint64_t RoundToBase(uint64_t value, uint32_t base) {
  if (base <= 1) return value;
  return (value + base / 2) / base * base;
}

absl::StatusOr<trelink::v1::DisclosurePolicy> ValidatePolicy(trelink::v1::DisclosurePolicy policy) {
  if (policy.version().empty()) return absl::InvalidArgumentError("policy.version: required (it is logged with every release)");
  if (policy.mode() == trelink::v1::DisclosurePolicy::MODE_UNSPECIFIED) policy.set_mode(trelink::v1::DisclosurePolicy::SDC);
  if (policy.threshold() == 0) policy.set_threshold(10);
  if (policy.rounding_base() == 0) policy.set_rounding_base(5);
  if (policy.max_cells() == 0) policy.set_max_cells(2000);
  if (!policy.has_group_disclosure_check()) policy.set_group_disclosure_check(true);
  if (policy.audit_time_limit_ms() == 0) policy.set_audit_time_limit_ms(5000);
  if (policy.threshold() < 2) return absl::InvalidArgumentError("policy.threshold: must be at least 2");
  if (policy.rounding_base() > policy.threshold()) {
    return absl::InvalidArgumentError("policy.rounding_base: must not exceed the threshold");
  }
  if (policy.threshold() % policy.rounding_base() != 0) {
    // Otherwise a count of k or more could be published as less than k.
    return absl::InvalidArgumentError("policy.threshold: must be a multiple of policy.rounding_base");
  }
  if (policy.mode() != trelink::v1::DisclosurePolicy::DP) {
    if (policy.has_dp()) return absl::InvalidArgumentError("policy.dp: set only in mode DP");
    return policy;
  }
  trelink::v1::DpPolicy& dp = *policy.mutable_dp();
  if (dp.epsilon_per_query_micro() == 0) dp.set_epsilon_per_query_micro(500000);
  if (dp.budget_micro() == 0) dp.set_budget_micro(10000000);
  if (dp.max_contributions() == 0) dp.set_max_contributions(1);
  if (dp.epsilon_per_query_micro() > dp.budget_micro()) {
    return absl::InvalidArgumentError("policy.dp.epsilon_per_query_micro: exceeds policy.dp.budget_micro");
  }
  if (dp.max_contributions() > 1000) return absl::InvalidArgumentError("policy.dp.max_contributions: at most 1000");
  if (absl::Status scale = LaplaceScaleForEpsilon(dp.epsilon_per_query_micro(), dp.max_contributions()).status();
      !scale.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("policy.dp.epsilon_per_query_micro: ", scale.message()));
  }
  return policy;
}

absl::StatusOr<std::unique_ptr<DisclosureControl>> DisclosureControl::Create(
    const trelink::v1::DisclosurePolicy& policy, ReleaseHistory& history, RandomSource* noise) {
  absl::StatusOr<trelink::v1::DisclosurePolicy> valid = ValidatePolicy(policy);
  if (!valid.ok()) return valid.status();
  if (valid->mode() == trelink::v1::DisclosurePolicy::DP && noise == nullptr) {
    return absl::InvalidArgumentError("policy.mode: DP needs a source of randomness");
  }
  return std::unique_ptr<DisclosureControl>(new DisclosureControl(*std::move(valid), history, noise));
}

namespace {

void Withhold(TableCell& cell, trelink::v1::SuppressionReason reason) {
  cell.status = trelink::v1::SUPPRESSED;
  cell.reason = reason;
}

bool IsInterior(const TableCell& cell) {
  return std::all_of(cell.coords.begin(), cell.coords.end(), [](int c) { return c >= 0; });
}

// Whether margin `m` adds up interior cell `z`.
bool Covers(const TableCell& m, const TableCell& z) {
  for (size_t i = 0; i < m.coords.size(); ++i) {
    if (m.coords[i] != -1 && m.coords[i] != z.coords[i]) return false;
  }
  return &m != &z;
}

// The withheld zeros of a table that must stay hidden (interior, no
// persons, suppressed), each with the positions of the margins adding it up.
std::vector<std::pair<size_t, std::vector<uint32_t>>> HiddenZeros(const CountTableDraft& table) {
  std::vector<std::pair<size_t, std::vector<uint32_t>>> zeros;
  for (size_t c = 0; c < table.cells.size(); ++c) {
    const TableCell& zero = table.cells[c];
    if (zero.count() != 0 || !IsSuppressed(zero.status) || !IsInterior(zero)) continue;
    std::vector<uint32_t> covering;
    for (size_t m = 0; m < table.cells.size(); ++m) {
      if (m != c && Covers(table.cells[m], zero)) covering.push_back(static_cast<uint32_t>(m));
    }
    if (!covering.empty()) zeros.emplace_back(c, std::move(covering));
  }
  return zeros;
}

}  // namespace

absl::Status DisclosureControl::Apply(const std::string& project, const PersonSpace& persons, CountTableDraft& table,
                                      trelink::v1::ReleaseAuditSummary* audit_summary) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dp()) {
    ApplyNoise(table);
    return absl::OkStatus();
  }
  const uint32_t k = policy_.threshold();
  for (TableCell& cell : table.cells) {
    cell.status = trelink::v1::RELEASED;
    cell.reason = trelink::v1::NOT_SUPPRESSED;
    if (cell.count() == 0 && !policy_.release_zeros()) Withhold(cell, trelink::v1::ZERO);
    if (cell.count() > 0 && cell.count() < k) Withhold(cell, trelink::v1::BELOW_THRESHOLD);
  }
  if (policy_.group_disclosure_check()) CheckGroupDisclosure(table);
  SuppressSecondary(table);
  TRELINK_ASSIGN_OR_RETURN(ReleaseAudit * audit, AuditFor(project, persons));
  trelink::v1::ReleaseAuditSummary summary;
  Audit(*audit, table, summary);
  if (audit_summary != nullptr) *audit_summary = summary;
  Round(table);
  return absl::OkStatus();
}

void DisclosureControl::Round(CountTableDraft& table) const {
  for (TableCell& cell : table.cells) {
    if (IsSuppressed(cell.status)) {
      cell.released = 0;
    } else {
      cell.released = RoundToBase(cell.count(), policy_.rounding_base());
      if (policy_.rounding_base() > 1) cell.status = trelink::v1::ROUNDED;
    }
  }
}

// What an analyst can infer of a count from its rounded release.
std::pair<uint64_t, uint64_t> DisclosureControl::KnownInterval(uint64_t released) const {
  const uint64_t base = policy_.rounding_base();
  if (base <= 1) return {released, released};
  const uint64_t below = base / 2, above = base - 1 - base / 2;
  return {released >= below ? released - below : 0, released + above};
}

// A line whose persons all fall in one category tells the analyst that
// everyone in the group has it: withhold every member of the line.
void DisclosureControl::CheckGroupDisclosure(CountTableDraft& table) const {
  std::map<std::vector<int>, size_t> index;
  for (size_t c = 0; c < table.cells.size(); ++c) index[table.cells[c].coords] = c;
  for (size_t d = 0; d < table.dimension_sizes.size(); ++d) {
    if (table.dimension_sizes[d] < 2) continue;
    for (const TableCell& start : table.cells) {
      if (!IsInterior(start) || start.coords[d] != 0) continue;
      std::vector<size_t> members;
      size_t nonzero = 0;
      std::vector<int> coords = start.coords;
      for (int v = 0; v < table.dimension_sizes[d]; ++v) {
        coords[d] = v;
        auto it = index.find(coords);
        if (it == index.end()) continue;
        members.push_back(it->second);
        if (table.cells[it->second].count() > 0) ++nonzero;
      }
      if (nonzero != 1 || members.size() < 2) continue;
      for (size_t m : members) Withhold(table.cells[m], trelink::v1::GROUP_DISCLOSURE);
    }
  }
}

absl::StatusOr<ReleaseAudit*> DisclosureControl::AuditFor(const std::string& project, const PersonSpace& persons) {
  ProjectAudit& state = audits_[project];
  if (state.audit != nullptr && state.generation == persons.generation()) return state.audit.get();
  // A new generation (or a restart): every earlier release, re-expressed
  // over this generation's persons through the records they counted.
  TRELINK_ASSIGN_OR_RETURN(std::vector<RecordedTable> tables, history_.Tables(project));
  auto audit = std::make_unique<ReleaseAudit>(policy_.threshold(), persons.persons(), policy_.group_disclosure_check());
  for (const RecordedTable& recorded : tables) {
    std::vector<ReleaseAudit::CellId> ids;
    for (const RecordedCell& cell : recorded) {
      Population population;
      for (uint64_t anchor : cell.anchors) {
        if (std::optional<uint32_t> person = persons.PersonOfParticipant(anchor)) population.push_back(*person);
      }
      std::sort(population.begin(), population.end());
      population.erase(std::unique(population.begin(), population.end()), population.end());
      ids.push_back(audit->AddCell(population, cell.definition));
    }
    for (const RecordedCell& cell : recorded) {
      std::vector<ReleaseAudit::CellId> covering;
      for (uint32_t m : cell.covering) {
        if (m < ids.size()) covering.push_back(ids[m]);
      }
      if (!covering.empty()) audit->AddHiddenZero(covering);
    }
    for (size_t c = 0; c < recorded.size(); ++c) {
      if (recorded[c].released) audit->Release(ids[c], recorded[c].low, recorded[c].high);
    }
  }
  // Settle the earlier releases' counts once, so that the next table's
  // check solves only for what it touches (what is not settled in time is
  // settled by the checks that follow, within their own limits).
  if (!tables.empty()) audit->Check(absl::Now() + absl::Milliseconds(10 * int64_t{policy_.audit_time_limit_ms()}));
  state.generation = persons.generation();
  state.audit = std::move(audit);
  return state.audit.get();
}

// What the analyst will know of a cell if it is released.
std::pair<uint64_t, uint64_t> DisclosureControl::ReleasedInterval(const TableCell& cell) const {
  return KnownInterval(RoundToBase(cell.count(), policy_.rounding_base()));
}

// Which of `risks_with` (found with the table released) stand with none of
// it released - an earlier generation's releases seen through this one's
// links, or counts the audit could not settle before - by source, with the
// interval found for each; nullopt when the check ran out of time. Other
// counts need no second look: the table only matters for those it puts at
// risk.
std::optional<absl::flat_hash_map<uint64_t, uint64_t>> DisclosureControl::RisksWithout(
    ReleaseAudit& audit, const CountTableDraft& table, const std::vector<ReleaseAudit::CellId>& ids,
    const std::vector<ReleaseAudit::Risk>& risks_with, absl::Time deadline) const {
  std::vector<size_t> released;
  for (size_t c = 0; c < table.cells.size(); ++c) {
    if (!audit.released(ids[c])) continue;
    released.push_back(c);
    audit.Suppress(ids[c]);
  }
  const ReleaseAudit::Finding finding = audit.Check(deadline, risks_with);
  for (size_t c : released) {
    const auto [low, high] = ReleasedInterval(table.cells[c]);
    audit.Release(ids[c], low, high);
  }
  if (finding.timed_out) return std::nullopt;
  absl::flat_hash_map<uint64_t, uint64_t> risks;
  for (const ReleaseAudit::Risk& risk : finding.risks) risks[risk.source] = risk.interval;
  return risks;
}

// Adds the table to the project's audit and withholds released cells until
// the table narrows no protected count below k, nor further one that was
// already narrower without it (withholding the table cannot undo that):
// first the smallest released cell that shares persons with the first
// risk, else the smallest that shares persons with an earlier released
// cell holding the risk's, and if none does, the whole table.
void DisclosureControl::Audit(ReleaseAudit& audit, CountTableDraft& table,
                              trelink::v1::ReleaseAuditSummary& summary) const {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(policy_.audit_time_limit_ms());
  summary.set_earlier_cells(static_cast<uint32_t>(audit.cells()));
  std::vector<ReleaseAudit::CellId> ids;
  for (const TableCell& cell : table.cells) ids.push_back(audit.AddCell(cell.population, cell.definition));
  for (const auto& [zero, margins] : HiddenZeros(table)) {
    std::vector<ReleaseAudit::CellId> covering;
    for (uint32_t m : margins) covering.push_back(ids[m]);
    audit.AddHiddenZero(covering);
  }
  for (size_t c = 0; c < table.cells.size(); ++c) {
    if (IsSuppressed(table.cells[c].status)) continue;
    const auto [low, high] = ReleasedInterval(table.cells[c]);
    audit.Release(ids[c], low, high);
  }
  summary.set_classes(static_cast<uint32_t>(audit.classes()));
  auto withhold = [&](size_t c) {
    Withhold(table.cells[c], trelink::v1::RELEASE_AUDIT);
    audit.Suppress(ids[c]);
    summary.set_cells_suppressed(summary.cells_suppressed() + 1);
  };
  auto withhold_all = [&]() {
    for (size_t c = 0; c < table.cells.size(); ++c) {
      if (!IsSuppressed(table.cells[c].status)) withhold(c);
    }
    summary.set_whole_table_suppressed(true);
  };
  ReleaseAudit::Finding finding = audit.Check(deadline);
  summary.set_protected_counts(finding.protected_counts);
  uint64_t narrowest_safe = finding.narrowest_safe;
  if (finding.timed_out) return withhold_all();
  std::optional<absl::flat_hash_map<uint64_t, uint64_t>> earlier;
  if (!finding.risks.empty()) {
    earlier = RisksWithout(audit, table, ids, finding.risks, deadline);
    if (!earlier.has_value()) return withhold_all();
  }
  auto narrowed_by_table = [&](std::vector<ReleaseAudit::Risk> risks) {
    std::vector<ReleaseAudit::Risk> open;
    for (ReleaseAudit::Risk& risk : risks) {
      auto before = earlier->find(risk.source);
      if (before == earlier->end() || risk.interval < before->second) open.push_back(std::move(risk));
    }
    return open;
  };
  // The open risks in the order found, one at a time: withholding a cell
  // only widens intervals, so a risk is checked again only when its turn
  // comes or a cell has just been withheld for it.
  bool timed_out = false;
  auto still_open = [&](const ReleaseAudit::Risk& risk) -> std::optional<ReleaseAudit::Risk> {
    ReleaseAudit::Finding again = audit.Check(deadline, absl::MakeConstSpan(&risk, 1));
    timed_out = again.timed_out;
    narrowest_safe = std::min(narrowest_safe, again.narrowest_safe);
    for (ReleaseAudit::Risk& open : narrowed_by_table(std::move(again.risks))) {
      if (open.source == risk.source) return std::move(open);
    }
    return std::nullopt;
  };
  std::vector<ReleaseAudit::Risk> open_risks;
  if (earlier.has_value()) open_risks = narrowed_by_table(std::move(finding.risks));
  for (size_t i = 0; i < open_risks.size(); ++i) {
    // The first was found open just now; the others may have been settled
    // by the cells withheld for those before them.
    std::optional<ReleaseAudit::Risk> risk = i == 0 ? open_risks[0] : still_open(open_risks[i]);
    while (risk.has_value() && !timed_out) {
      std::vector<ReleaseAudit::CellId> touching = audit.ReleasedCellsTouching(*risk, ids);
      if (touching.empty()) touching = audit.ReleasedCellsNear(*risk, ids);
      if (touching.empty()) return withhold_all();
      const auto smallest = std::min_element(touching.begin(), touching.end(), [&](auto a, auto b) {
        return audit.size(a) < audit.size(b);
      });
      withhold(static_cast<size_t>(std::find(ids.begin(), ids.end(), *smallest) - ids.begin()));
      risk = still_open(*risk);
    }
    if (timed_out) return withhold_all();
  }
  // UINT64_MAX: every protected count is unbounded now.
  summary.set_narrowest_interval(summary.protected_counts() == 0 ? 0 : narrowest_safe);
  // A cell the audit withheld may be the only one withheld in its line;
  // partners keep it from being recovered by subtraction (withholding more
  // only widens intervals, so the audit's finding stands).
  SuppressSecondary(table);
  for (size_t c = 0; c < table.cells.size(); ++c) {
    if (IsSuppressed(table.cells[c].status) && audit.released(ids[c])) audit.Suppress(ids[c]);
  }
}

absl::Status DisclosureControl::Record(const std::string& project, const PersonSpace& persons,
                                       const CountTableDraft& table) {
  if (dp()) return absl::OkStatus();
  RecordedTable recorded;
  for (const TableCell& cell : table.cells) {
    RecordedCell out;
    out.released = !IsSuppressed(cell.status);
    if (out.released) std::tie(out.low, out.high) = KnownInterval(cell.released);
    out.definition = cell.definition;
    out.anchors.reserve(cell.population.size());
    for (uint64_t person : cell.population) out.anchors.push_back(persons.anchor(static_cast<uint32_t>(person)));
    std::sort(out.anchors.begin(), out.anchors.end());
    recorded.push_back(std::move(out));
  }
  for (auto& [zero, margins] : HiddenZeros(table)) recorded[zero].covering = std::move(margins);
  return history_.Record(project, recorded);
}

// dp mode. Interior cells: each person kept in at most max_contributions of
// them (the first in table order), then noise. Margins: sums of the noisy
// cells they cover, which costs no budget. Then threshold and rounding.
void DisclosureControl::ApplyNoise(CountTableDraft& table) const {
  const trelink::v1::DpPolicy& dp = policy_.dp();
  absl::flat_hash_map<uint64_t, uint32_t> contributions;
  std::vector<int64_t> noisy(table.cells.size(), 0);
  for (size_t c = 0; c < table.cells.size(); ++c) {
    TableCell& cell = table.cells[c];
    if (!IsInterior(cell)) continue;
    Population kept;
    for (uint64_t person : cell.population) {
      if (++contributions[person] <= dp.max_contributions()) kept.push_back(person);
    }
    cell.population = std::move(kept);
    // Validated with the policy, so the noise cannot fail here.
    noisy[c] = static_cast<int64_t>(cell.count()) +
               *LaplaceNoiseForEpsilon(*noise_, dp.epsilon_per_query_micro(), dp.max_contributions());
  }
  for (size_t m = 0; m < table.cells.size(); ++m) {
    if (IsInterior(table.cells[m])) continue;
    for (size_t z = 0; z < table.cells.size(); ++z) {
      if (IsInterior(table.cells[z]) && Covers(table.cells[m], table.cells[z])) noisy[m] += noisy[z];
    }
  }
  for (size_t c = 0; c < table.cells.size(); ++c) {
    TableCell& cell = table.cells[c];
    if (noisy[c] < static_cast<int64_t>(policy_.threshold())) {
      Withhold(cell, trelink::v1::NOISY_BELOW_THRESHOLD);
      cell.released = 0;
      continue;
    }
    cell.status = policy_.rounding_base() > 1 ? trelink::v1::ROUNDED : trelink::v1::RELEASED;
    cell.reason = trelink::v1::NOT_SUPPRESSED;
    cell.released = RoundToBase(static_cast<uint64_t>(noisy[c]), policy_.rounding_base());
  }
}

namespace {

// Makes one line safe: at least two unknowns, and either the margin is one
// of them or the unknown members add up to at least k. Exact for a line on
// its own: each unknown member can then be anything in [0, their sum].
bool ProtectLine(CountTableDraft& table, const Line& line, uint64_t k) {
  size_t suppressed = 0;
  uint64_t suppressed_sum = 0;
  const bool total_suppressed = IsSuppressed(table.cells[line.total].status);
  for (size_t m : line.members) {
    if (IsSuppressed(table.cells[m].status)) {
      ++suppressed;
      suppressed_sum += table.cells[m].count();
    }
  }
  if (total_suppressed) ++suppressed;
  if (suppressed == 0 || (suppressed >= 2 && (total_suppressed || suppressed_sum >= k))) return false;
  // Add the smallest released member that brings the sum to k, or the
  // largest one if none does; with no released member, the margin.
  std::vector<size_t> candidates;
  for (size_t m : line.members) {
    if (!IsSuppressed(table.cells[m].status)) candidates.push_back(m);
  }
  std::sort(candidates.begin(), candidates.end(),
            [&](size_t a, size_t b) { return table.cells[a].count() < table.cells[b].count(); });
  size_t chosen = line.total;
  for (size_t c : candidates) {
    if (table.cells[c].count() == 0 && candidates.size() > 1) continue;
    chosen = c;
    if (suppressed_sum + table.cells[c].count() >= k) break;
  }
  if (IsSuppressed(table.cells[chosen].status)) return false;
  Withhold(table.cells[chosen], trelink::v1::PROTECTS_ANOTHER_CELL);
  return true;
}

}  // namespace

// One-way tables: the line rule on the single line is exact. Two-way tables:
// lines along rows and columns interlock, and the line rule alone can leave
// a cycle of suppressed cells whose values pin each other down. So every row
// holding a suppressed cell also has its margin suppressed: the rows then
// constrain nothing, each column (and the line of row margins against the
// grand total) is a line on its own, and the line rule is exact again.
void DisclosureControl::SuppressSecondary(CountTableDraft& table) const {
  const uint64_t k = policy_.threshold();
  const std::vector<Line> lines = Lines(table);
  const bool two_way = table.dimension_sizes.size() == 2;
  std::vector<Line> independent;
  std::map<int, size_t> row_margin;
  for (const Line& line : lines) {
    const std::vector<int>& total = table.cells[line.total].coords;
    if (!two_way || line.dimension == 0 || total[0] == -1) independent.push_back(line);
    if (two_way && line.dimension == 1 && total[0] >= 0) row_margin[total[0]] = line.total;
  }
  std::map<std::vector<int>, size_t> index;
  for (size_t c = 0; c < table.cells.size(); ++c) index[table.cells[c].coords] = c;
  const auto grand_total = index.find({-1, -1});
  bool changed = true;
  while (changed) {
    changed = false;
    for (const Line& line : independent) changed = ProtectLine(table, line, k) || changed;
    if (!two_way) continue;
    // Columns (or rows) whose margins are suppressed are still tied together
    // by the grand total: their interior cells add up to a known amount.
    if (grand_total != index.end()) {
      for (size_t d : {size_t{0}, size_t{1}}) {
        Line combined{{}, grand_total->second, d};
        for (size_t c = 0; c < table.cells.size(); ++c) {
          const std::vector<int>& coords = table.cells[c].coords;
          if (coords[0] < 0 || coords[1] < 0) continue;
          std::vector<int> margin = coords;
          margin[d] = -1;
          auto m = index.find(margin);
          if (m != index.end() && IsSuppressed(table.cells[m->second].status)) combined.members.push_back(c);
        }
        if (!combined.members.empty()) changed = ProtectLine(table, combined, k) || changed;
      }
    }
    for (const TableCell& cell : table.cells) {
      if (cell.coords[0] < 0 || cell.coords[1] < 0 || !IsSuppressed(cell.status)) continue;
      auto margin = row_margin.find(cell.coords[0]);
      if (margin != row_margin.end() && !IsSuppressed(table.cells[margin->second].status)) {
        Withhold(table.cells[margin->second], trelink::v1::PROTECTS_ANOTHER_CELL);
        changed = true;
      }
    }
  }
}

}  // namespace trelink
