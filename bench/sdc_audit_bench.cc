// sdc mode: how the release audit grows with the project's earlier releases.
#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/disclosure_bench.h"
#include "common/aggregate/count_query.h"

namespace trelink {
namespace {

// One audited release.
struct Audited {
  double ms = 0;  // DisclosureControl::Apply
  trelink::v1::ReleaseAuditSummary summary;
};

// The next query of the mix that evaluates (a variant can have too many cells).
absl::StatusOr<EvaluatedCount> NextEvaluated(QueryMix& mix, const EventIndex& index, uint32_t max_cells) {
  absl::Status last;
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<EvaluatedCount> evaluated = EvaluateCount(index, mix.Next(), max_cells);
    if (evaluated.ok()) return evaluated;
    last = evaluated.status();
  }
  return last;
}

absl::StatusOr<Audited> Release(DisclosureControl& control, const EventIndex& index, QueryMix& mix,
                                const std::string& project) {
  absl::StatusOr<EvaluatedCount> evaluated = NextEvaluated(mix, index, control.policy().max_cells());
  if (!evaluated.ok()) return evaluated.status();
  Audited audited;
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status applied = control.Apply(project, index, evaluated->table, &audited.summary); !applied.ok()) {
    return applied;
  }
  audited.ms = SecondsSince(start) * 1000;
  if (absl::Status recorded = control.Record(project, index, evaluated->table); !recorded.ok()) return recorded;
  return audited;
}

void ReportCheckpoint(size_t earlier, const std::vector<Audited>& window) {
  std::vector<double> ms;
  uint32_t withheld = 0;
  for (const Audited& a : window) {
    ms.push_back(a.ms);
    withheld += a.summary.cells_suppressed();
  }
  const std::string at = absl::StrCat(".after_", earlier);
  Report("sdc_audit.p50" + at, Percentile(ms, 0.5), "ms");
  Report("sdc_audit.p99" + at, Percentile(ms, 0.99), "ms");
  Report("sdc_audit.max" + at, Percentile(ms, 1), "ms");
  const trelink::v1::ReleaseAuditSummary& last = window.back().summary;
  Report("sdc_audit.earlier_cells" + at, last.earlier_cells(), "cells");
  Report("sdc_audit.classes" + at, last.classes(), "classes");
  Report("sdc_audit.protected_counts" + at, last.protected_counts(), "counts");
  Report("sdc_audit.cells_withheld_by_audit" + at, withheld, "cells");
}

void ReportTotals(const std::vector<Audited>& all, uint32_t limit_ms) {
  uint32_t whole_tables = 0, withheld = 0, timed_out = 0;
  for (const Audited& a : all) {
    whole_tables += a.summary.whole_table_suppressed() ? 1 : 0;
    withheld += a.summary.cells_suppressed();
    timed_out += a.ms >= limit_ms ? 1 : 0;
  }
  const trelink::v1::ReleaseAuditSummary& last = all.back().summary;
  Report("sdc_audit.releases", static_cast<double>(all.size()), "tables");
  Report("sdc_audit.final.earlier_cells", last.earlier_cells(), "cells");
  Report("sdc_audit.final.classes", last.classes(), "classes");
  Report("sdc_audit.final.protected_counts", last.protected_counts(), "counts");
  Report("sdc_audit.total_cells_withheld_by_audit", withheld, "cells");
  Report("sdc_audit.whole_tables_withheld", whole_tables, "tables");
  Report("sdc_audit.at_time_limit", timed_out, "tables");
}

// Where the audit's time goes, from outside common/sdc: the first `tables`
// queries of the mix added to a ReleaseAudit of their own (primary
// suppression only, as Apply releases them before the audit), timing
// AddCell and one Check with no time limit after each table.
void ProfileAudit(const EventIndex& index, const trelink::v1::DisclosurePolicy& policy, QueryMix& mix,
                  size_t tables) {
  ReleaseAudit audit(policy.threshold(), index.persons(), policy.group_disclosure_check());
  for (size_t t = 0; t < tables; ++t) {
    absl::StatusOr<EvaluatedCount> evaluated = NextEvaluated(mix, index, policy.max_cells());
    if (!evaluated.ok()) return;
    auto start = std::chrono::steady_clock::now();
    for (const TableCell& cell : evaluated->table.cells) {
      const ReleaseAudit::CellId id = audit.AddCell(cell.population, cell.definition);
      const uint64_t n = cell.count();
      if (n >= policy.threshold()) {
        const uint64_t rounded = RoundToBase(n, policy.rounding_base());
        audit.Release(id, rounded - policy.rounding_base() / 2, rounded + (policy.rounding_base() - 1) / 2);
      }
    }
    const double add_ms = SecondsSince(start) * 1000;
    start = std::chrono::steady_clock::now();
    const ReleaseAudit::Finding finding = audit.Check(absl::Now() + absl::Minutes(10));
    const double check_ms = SecondsSince(start) * 1000;
    const std::string at = absl::StrCat(".table_", t + 1);
    Report("sdc_profile.add_cells_ms" + at, add_ms, "ms");
    Report("sdc_profile.check_ms" + at, check_ms, "ms");
    Report("sdc_profile.classes" + at, static_cast<double>(audit.classes()), "classes");
    Report("sdc_profile.protected_counts" + at, finding.protected_counts, "counts");
    Report("sdc_profile.check_ms_per_protected_count" + at,
           finding.protected_counts == 0 ? 0 : check_ms / finding.protected_counts, "ms");
    Report("sdc_profile.risks" + at, static_cast<double>(finding.risks.size()), "counts");
  }
}

}  // namespace

int BenchReleaseAudit(const EventIndex& index, const std::vector<NamedQuery>& queries,
                      const AuditGrowthOptions& options) {
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("bench-sdc");
  InMemoryReleaseHistory history;
  auto control = DisclosureControl::Create(policy, history, nullptr);
  if (!control.ok() || options.checkpoints.empty() || options.window == 0) return 1;
  std::vector<size_t> checkpoints = options.checkpoints;
  std::sort(checkpoints.begin(), checkpoints.end());
  if (options.profile_tables > 0) {
    QueryMix profiled(queries, index, options.seed);
    ProfileAudit(index, (*control)->policy(), profiled, options.profile_tables);
  }
  QueryMix mix(queries, index, options.seed);
  std::vector<Audited> all;
  const auto start = std::chrono::steady_clock::now();
  for (size_t next = 0; next < checkpoints.size();) {
    absl::StatusOr<Audited> audited = Release(**control, index, mix, queries.front().query.project());
    if (!audited.ok()) {
      std::fprintf(stderr, "release %zu: %s\n", all.size(), audited.status().ToString().c_str());
      return 1;
    }
    all.push_back(*audited);
    if (all.size() % 10 == 0 || audited->ms > 1000) {
      std::fprintf(stderr, "  %zu releases in %.0f s; last audit %.1f ms, %u classes, %u protected counts\n", all.size(),
                   SecondsSince(start), audited->ms, audited->summary.classes(), audited->summary.protected_counts());
    }
    while (next < checkpoints.size() && all.size() >= checkpoints[next] + options.window) {
      const auto first = all.begin() + static_cast<std::ptrdiff_t>(checkpoints[next]);
      ReportCheckpoint(checkpoints[next], std::vector<Audited>(first, first + static_cast<std::ptrdiff_t>(options.window)));
      ++next;
    }
  }
  ReportTotals(all, (*control)->policy().audit_time_limit_ms());
  return 0;
}

}  // namespace trelink
