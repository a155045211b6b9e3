#include "common/sdc/disclosure_control.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

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

bool IsSuppressed(CellStatus status) {
  return status == trelink::v1::SUPPRESSED_PRIMARY || status == trelink::v1::SUPPRESSED_SECONDARY ||
         status == trelink::v1::SUPPRESSED_DIFFERENCING || status == trelink::v1::SUPPRESSED_ZERO;
}

uint64_t RoundToBase(uint64_t value, uint32_t base) {
  if (base <= 1) return value;
  return (value + base / 2) / base * base;
}

absl::StatusOr<trelink::v1::DisclosurePolicy> ValidatePolicy(trelink::v1::DisclosurePolicy policy) {
  if (policy.version().empty()) return absl::InvalidArgumentError("policy.version: required (it is logged with every release)");
  if (policy.threshold() == 0) policy.set_threshold(10);
  if (policy.rounding_base() == 0) policy.set_rounding_base(5);
  if (policy.max_cells() == 0) policy.set_max_cells(2000);
  if (policy.threshold() < 2) return absl::InvalidArgumentError("policy.threshold: must be at least 2");
  if (policy.rounding_base() > policy.threshold()) {
    return absl::InvalidArgumentError("policy.rounding_base: must not exceed the threshold");
  }
  return policy;
}

absl::StatusOr<std::unique_ptr<DisclosureControl>> DisclosureControl::Create(
    const trelink::v1::DisclosurePolicy& policy, ReleaseHistory& history) {
  absl::StatusOr<trelink::v1::DisclosurePolicy> valid = ValidatePolicy(policy);
  if (!valid.ok()) return valid.status();
  return std::unique_ptr<DisclosureControl>(new DisclosureControl(*std::move(valid), history));
}

void DisclosureControl::Apply(const std::string& project, CountTableDraft& table) const {
  const uint32_t k = policy_.threshold();
  // 1. primary
  for (TableCell& cell : table.cells) {
    if (cell.count() == 0) {
      cell.status = policy_.release_zeros() ? trelink::v1::RELEASED : trelink::v1::SUPPRESSED_ZERO;
    } else if (cell.count() < k) {
      cell.status = trelink::v1::SUPPRESSED_PRIMARY;
    } else {
      cell.status = trelink::v1::RELEASED;
    }
  }
  // 2. differencing, against the project's releases and this table's cells
  if (policy_.differencing_check()) {
    InMemoryReleaseHistory this_table;
    for (TableCell& cell : table.cells) {
      if (IsSuppressed(cell.status) || cell.count() == 0) continue;
      if (history_.Differs(project, cell.population, k) || this_table.Differs("", cell.population, k)) {
        cell.status = trelink::v1::SUPPRESSED_DIFFERENCING;
      } else {
        this_table.Add("", cell.population);
      }
    }
  }
  // 3. secondary
  SuppressSecondary(table);
  // 4. rounding
  for (TableCell& cell : table.cells) {
    if (IsSuppressed(cell.status)) {
      cell.released = 0;
    } else {
      cell.released = RoundToBase(cell.count(), policy_.rounding_base());
      if (policy_.rounding_base() > 1) cell.status = trelink::v1::ROUNDED;
    }
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
  table.cells[chosen].status = trelink::v1::SUPPRESSED_SECONDARY;
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
        table.cells[margin->second].status = trelink::v1::SUPPRESSED_SECONDARY;
        changed = true;
      }
    }
  }
}

absl::Status DisclosureControl::RecordReleased(const std::string& project, const CountTableDraft& table) const {
  if (!policy_.differencing_check()) return absl::OkStatus();
  std::vector<const Population*> released;
  for (const TableCell& cell : table.cells) {
    if (!IsSuppressed(cell.status) && cell.count() > 0) released.push_back(&cell.population);
  }
  return history_.Record(project, released);
}

}  // namespace trelink
