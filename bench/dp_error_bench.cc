// dp mode at the default policy: what the noise costs in accuracy, and how
// far the default budget goes.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/disclosure_bench.h"
#include "common/aggregate/count_query.h"
#include "common/sdc/privacy_ledger.h"

namespace trelink {
namespace {

absl::StatusOr<trelink::v1::DisclosurePolicy> DefaultDpPolicy() {
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("bench-dp-default");
  policy.set_mode(trelink::v1::DisclosurePolicy::DP);
  return ValidatePolicy(policy);
}

// Over every cell of every noisy release.
struct ErrorTally {
  std::vector<double> relative;  // |released - true| / true, released cells with true > 0
  uint64_t cells = 0, suppressed = 0, below_threshold = 0, released_true_zero = 0;

  void Add(const TableCell& cell, uint64_t truth, uint32_t threshold) {
    ++cells;
    below_threshold += truth < threshold ? 1 : 0;
    if (IsSuppressed(cell.status)) {
      ++suppressed;
    } else if (truth == 0) {
      ++released_true_zero;
    } else {
      relative.push_back(std::fabs(static_cast<double>(cell.released) - static_cast<double>(truth)) /
                         static_cast<double>(truth));
    }
  }
};

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

SeededRandom::Seed SeedOf(uint64_t seed) {
  SeededRandom::Seed bytes{};
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(seed >> (8 * i));
  return bytes;
}

}  // namespace

int BenchDpError(const EventIndex& index, const std::vector<NamedQuery>& queries, int runs, uint64_t seed) {
  absl::StatusOr<trelink::v1::DisclosurePolicy> policy = DefaultDpPolicy();
  if (!policy.ok()) return 1;
  SeededRandom noise(SeedOf(seed));
  InMemoryReleaseHistory history;  // unused in dp mode
  auto control = DisclosureControl::Create(*policy, history, &noise);
  if (!control.ok()) return 1;
  ErrorTally all;
  for (const NamedQuery& named : queries) {
    absl::StatusOr<EvaluatedCount> evaluated = EvaluateCount(index, named.query, policy->max_cells());
    if (!evaluated.ok()) {
      std::fprintf(stderr, "%s: %s\n", named.name.c_str(), evaluated.status().ToString().c_str());
      return 1;
    }
    ErrorTally tally;
    for (int run = 0; run < runs; ++run) {
      CountTableDraft table = evaluated->table;
      if (!(*control)->Apply(named.query.project(), index, table, nullptr).ok()) return 1;
      for (size_t c = 0; c < table.cells.size(); ++c) {
        tally.Add(table.cells[c], evaluated->table.cells[c].count(), policy->threshold());
        all.Add(table.cells[c], evaluated->table.cells[c].count(), policy->threshold());
      }
    }
    Report("dp_error.median_relative_error." + named.name, Percentile(tally.relative, 0.5), "");
  }
  const double cells = static_cast<double>(all.cells);
  Report("dp_error.mean_relative_error", Mean(all.relative), "");
  Report("dp_error.median_relative_error", Percentile(all.relative, 0.5), "");
  Report("dp_error.p90_relative_error", Percentile(all.relative, 0.9), "");
  Report("dp_error.suppressed_share", static_cast<double>(all.suppressed) / cells, "");
  Report("dp_error.true_below_threshold_share", static_cast<double>(all.below_threshold) / cells, "");
  Report("dp_error.released_true_zero_share", static_cast<double>(all.released_true_zero) / cells, "");
  Report("dp_error.cells_per_run", cells / runs, "cells");
  Report("dp_error.runs", runs, "runs");
  return 0;
}

int BenchDpBudget(const std::vector<NamedQuery>& queries) {
  absl::StatusOr<trelink::v1::DisclosurePolicy> policy = DefaultDpPolicy();
  if (!policy.ok()) return 1;
  const trelink::v1::DpPolicy& dp = policy->dp();
  Report("dp_budget.epsilon_per_query", static_cast<double>(dp.epsilon_per_query_micro()) / 1e6, "epsilon");
  Report("dp_budget.budget", static_cast<double>(dp.budget_micro()) / 1e6, "epsilon");
  Report("dp_budget.runs_from_policy",
         static_cast<double>(dp.budget_micro() / (queries.size() * dp.epsilon_per_query_micro())), "runs");
  PrivacyLedger ledger;
  uint64_t answered = 0, complete_runs = 0;
  for (uint64_t generation = 1;; ++generation) {
    size_t in_run = 0;
    for (const NamedQuery& named : queries) {
      const std::string digest = QueryDigest(named.query);
      absl::StatusOr<trelink::v1::PrivacyCharge> charge = ledger.Charge(named.query.project(), digest, dp);
      if (!charge.ok()) break;
      trelink::v1::LogEntry entry;
      entry.set_index(ledger.entries());
      entry.set_project(named.query.project());
      *entry.mutable_policy() = *policy;
      *entry.mutable_query() = named.query;
      entry.mutable_table()->set_generation(generation);
      *entry.mutable_privacy() = *charge;
      if (absl::Status replayed = ledger.Replay(entry); !replayed.ok()) {
        std::fprintf(stderr, "%s\n", replayed.ToString().c_str());
        return 1;
      }
      ++answered;
      ++in_run;
    }
    if (in_run < queries.size()) break;
    ++complete_runs;
  }
  Report("dp_budget.runs_by_ledger", static_cast<double>(complete_runs), "runs");
  Report("dp_budget.queries_by_ledger", static_cast<double>(answered), "queries");
  return 0;
}

}  // namespace trelink
