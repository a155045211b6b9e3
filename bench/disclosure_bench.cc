// The figures of issue 11 for the two disclosure modes:
//   dp_latency  dp-mode Count through the real AggregateHandler (ledger, noise,
//               log append with fsync), new queries and repeats answered from
//               the ledger;
//   sdc_audit   sdc-mode DisclosureControl::Apply (the release audit) with a
//               growing number of earlier releases in the project (sdc_audit.cc);
//   dp_error    relative error of Q1-Q7's released cells at the default policy,
//               and how many Q1-Q7 runs the default budget pays for.
//
//   trelink-bench-disclosure --store DIR/linked.db --project bench --queries deploy/queries
//       [--sections dp_latency,sdc_audit,dp_error] [--repeats 20] [--releases 100,300,1000]
//       [--window 30] [--error_runs 200] [--seed 1]
//
// The store comes from trelink-bench-linkage. Figures are reported, never
// asserted.
#include <cstdio>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "bench/bench_report.h"
#include "bench/disclosure_bench.h"
#include "common/config/text_config.h"
#include "common/store/sqlite_linked_store.h"
#include "services/aggregator/aggregate_handler.h"

ABSL_FLAG(std::string, store, "/tmp/trelink-bench/linked.db", "linked store");
ABSL_FLAG(std::string, project, "bench", "project");
ABSL_FLAG(std::string, catalogue, "deploy/config/catalogue.textproto", "catalogue");
ABSL_FLAG(std::string, queries, "deploy/queries", "directory of query files (Q1-Q7)");
ABSL_FLAG(std::vector<std::string>, sections, std::vector<std::string>({"dp_latency", "sdc_audit", "dp_error"}),
          "which benchmarks to run");
ABSL_FLAG(int, repeats, 20, "dp_latency: rounds of Q1-Q7, each against a fresh ledger");
ABSL_FLAG(std::vector<std::string>, releases, std::vector<std::string>({"100", "300", "1000"}),
          "sdc_audit: numbers of earlier releases at which the audit is reported");
ABSL_FLAG(int, window, 30, "sdc_audit: audits timed at each of --releases");
ABSL_FLAG(int, profile_tables, 0, "sdc_audit: first profile the audit over this many tables (no time limit)");
ABSL_FLAG(int, error_runs, 200, "dp_error: noise draws of each query");
ABSL_FLAG(uint64_t, seed, 1, "seed of the query variants and of the dp_error noise");

namespace trelink {
namespace {

constexpr char kAnalyst[] = "bench-analyst";

absl::StatusOr<AccessPolicy> AnalystOf(const std::string& project) {
  trelink::v1::AccessPolicy config;
  auto* principal = config.add_principals();
  principal->set_identity(kAnalyst);
  principal->set_role(trelink::v1::ANALYST);
  principal->add_projects(project);
  return AccessPolicy::Create(config);
}

// A query the handler refuses after it has indexed the project: the index
// build is then timed on its own.
trelink::v1::CountQuery Unanswerable(const std::string& project) {
  trelink::v1::CountQuery query;
  query.set_project(project);
  query.mutable_cohort()->set_dataset("no such dataset");
  query.mutable_cohort()->add_events("none");
  return query;
}

std::vector<double> TimeCounts(AggregateHandler& handler, const std::vector<NamedQuery>& queries, bool& failed) {
  std::vector<double> ms;
  for (const NamedQuery& named : queries) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<trelink::v1::CountTable> table = handler.Count(kAnalyst, named.query);
    ms.push_back(SecondsSince(start) * 1000);
    if (!table.ok()) {
      std::fprintf(stderr, "%s: %s\n", named.name.c_str(), table.status().ToString().c_str());
      failed = true;
    }
  }
  return ms;
}

// Count as an analyst calls it, in dp mode with a budget no round exhausts.
// Each round starts from a fresh ledger (the handler holds a pointer to it),
// so Q1-Q7 are new queries again; asked a second time within the round
// they are repeats, answered from the ledger.
int BenchDpLatency(const std::vector<NamedQuery>& queries) {
  const std::string project = absl::GetFlag(FLAGS_project);
  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  auto store = SqliteLinkedStore::Open(absl::GetFlag(FLAGS_store), Clock::System());
  auto access = AnalystOf(project);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "trelink-bench-disclosure-log";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto signer = NoteSigner::Generate("trelink.bench/disclosure");
  auto noise = SodiumRandom::Create();
  if (!catalogue.ok() || !store.ok() || !access.ok() || !signer.ok() || !noise.ok()) return 1;
  auto log = DisclosureLog::Open((dir / "log").string(), *std::move(signer));
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("bench-dp");
  policy.set_mode(trelink::v1::DisclosurePolicy::DP);
  policy.mutable_dp()->set_budget_micro(uint64_t{1} << 50);
  InMemoryReleaseHistory history;
  auto control = DisclosureControl::Create(policy, history, &*noise);
  if (!log.ok() || !control.ok()) return 1;
  PrivacyLedger ledger;
  AggregateHandler handler(AggregateContext{&*access, &*catalogue, store->get(), control->get(), log->get(),
                                            &Clock::System(), {project}, absl::Seconds(2), {}, &ledger});

  const auto build_start = std::chrono::steady_clock::now();
  (void)handler.Count(kAnalyst, Unanswerable(project));
  Report("dp.index_build_seconds", SecondsSince(build_start), "s");
  bool failed = false;
  std::vector<double> fresh, repeat, first_round;
  std::vector<std::vector<double>> per_query(queries.size());
  for (int round = 0; round < absl::GetFlag(FLAGS_repeats); ++round) {
    ledger.Clear();
    std::vector<double> answered = TimeCounts(handler, queries, failed);
    std::vector<double> again = TimeCounts(handler, queries, failed);
    if (round == 0) first_round = answered;
    for (size_t q = 0; q < queries.size(); ++q) per_query[q].push_back(answered[q]);
    fresh.insert(fresh.end(), answered.begin(), answered.end());
    repeat.insert(repeat.end(), again.begin(), again.end());
  }
  std::filesystem::remove_all(dir);
  if (failed) return 1;
  Report("dp.count_latency_p50", Percentile(fresh, 0.5), "ms");
  Report("dp.count_latency_p99", Percentile(fresh, 0.99), "ms");
  Report("dp.count_latency_max", Percentile(fresh, 1), "ms");
  Report("dp.count_latency_first_round_max", Percentile(first_round, 1), "ms");
  for (size_t q = 0; q < queries.size(); ++q) {
    Report("dp.count_latency_p50." + queries[q].name, Percentile(per_query[q], 0.5), "ms");
  }
  Report("dp.repeat_latency_p50", Percentile(repeat, 0.5), "ms");
  Report("dp.repeat_latency_p99", Percentile(repeat, 0.99), "ms");
  return 0;
}

int Main() {
  const std::string project = absl::GetFlag(FLAGS_project);
  absl::StatusOr<std::vector<NamedQuery>> queries = LoadQueries(absl::GetFlag(FLAGS_queries), project);
  if (!queries.ok()) {
    std::fprintf(stderr, "%s\n", queries.status().ToString().c_str());
    return 1;
  }
  const std::vector<std::string> sections = absl::GetFlag(FLAGS_sections);
  auto wants = [&](const std::string& s) { return std::find(sections.begin(), sections.end(), s) != sections.end(); };
  if (wants("dp_latency") && BenchDpLatency(*queries) != 0) return 1;
  if (!wants("sdc_audit") && !wants("dp_error")) return 0;

  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  auto store = SqliteLinkedStore::Open(absl::GetFlag(FLAGS_store), Clock::System());
  if (!catalogue.ok() || !store.ok()) {
    std::fprintf(stderr, "cannot open the catalogue or store\n");
    return 1;
  }
  auto index = EventIndex::Build(**store, *catalogue, project);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
    return 1;
  }
  if (wants("sdc_audit")) {
    AuditGrowthOptions options;
    options.checkpoints.clear();
    for (const std::string& n : absl::GetFlag(FLAGS_releases)) options.checkpoints.push_back(std::stoul(n));
    options.window = static_cast<size_t>(absl::GetFlag(FLAGS_window));
    options.seed = absl::GetFlag(FLAGS_seed);
    options.profile_tables = static_cast<size_t>(absl::GetFlag(FLAGS_profile_tables));
    if (BenchReleaseAudit(**index, *queries, options) != 0) return 1;
  }
  if (wants("dp_error")) {
    if (BenchDpError(**index, *queries, absl::GetFlag(FLAGS_error_runs), absl::GetFlag(FLAGS_seed)) != 0) return 1;
    if (BenchDpBudget(*queries) != 0) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
