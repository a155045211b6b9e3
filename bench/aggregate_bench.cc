// Count-query latency with every disclosure check and the log append on, and
// offline verification speed of the disclosure log.
//
//   trelink-bench-aggregate --store DIR/linked.db --project bench --queries deploy/queries
//       [--repeats 20] [--log_entries 100000]
//
// The store comes from trelink-bench-linkage. Queries are the Q1-Q7 files
// with their project replaced.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/flags/flag.h"
#include "bench/bench_report.h"
#include "absl/flags/parse.h"
#include "common/aggregate/count_query.h"
#include "common/config/text_config.h"
#include "common/disclosure_log/disclosure_log.h"
#include "common/disclosure_log/log_verifier.h"
#include "common/store/sqlite_linked_store.h"

ABSL_FLAG(std::string, store, "/tmp/trelink-bench/linked.db", "linked store");
ABSL_FLAG(std::string, project, "bench", "project");
ABSL_FLAG(std::string, catalogue, "deploy/config/catalogue.textproto", "catalogue");
ABSL_FLAG(std::string, queries, "deploy/queries", "directory of query files");
ABSL_FLAG(int, repeats, 20, "runs of each query");
ABSL_FLAG(int, log_entries, 100000, "entries in the log whose verification is timed");

namespace trelink {
namespace {

int Main() {
  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  auto store = SqliteLinkedStore::Open(absl::GetFlag(FLAGS_store), Clock::System());
  if (!catalogue.ok() || !store.ok()) {
    std::fprintf(stderr, "cannot open the catalogue or store\n");
    return 1;
  }
  const auto build_start = std::chrono::steady_clock::now();
  auto index = EventIndex::Build(**store, *catalogue, absl::GetFlag(FLAGS_project));
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
    return 1;
  }
  Report("aggregate.index_build_seconds", SecondsSince(build_start), "s");
  Report("aggregate.events", static_cast<double>((*index)->events()), "events");

  const std::string dir = std::filesystem::temp_directory_path() / "trelink-bench-log";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto signer = NoteSigner::Generate("trelink.bench/log");
  NoteVerifier verifier = signer->verifier();
  auto log = DisclosureLog::Open(dir + "/log", *std::move(signer));
  InMemoryReleaseHistory history;
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("bench");
  policy.set_release_zeros(true);
  auto control = DisclosureControl::Create(policy, history, nullptr);

  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(absl::GetFlag(FLAGS_queries))) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  std::vector<double> latencies, append_latencies;
  std::map<std::string, std::vector<double>> per_query;
  std::vector<std::string> sample_entries;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeats); ++r) {
    for (const std::string& file : files) {
      trelink::v1::CountQuery query;
      if (!LoadTextConfig(file, query).ok()) return 1;
      query.set_project(absl::GetFlag(FLAGS_project));
      const auto start = std::chrono::steady_clock::now();
      auto evaluated = EvaluateCount(**index, query, 2000);
      if (!evaluated.ok()) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), evaluated.status().ToString().c_str());
        return 1;
      }
      trelink::v1::LogEntry entry;
      if (!(*control)->Apply(query.project(), **index, evaluated->table, entry.mutable_release_audit()).ok()) return 1;
      *entry.mutable_query() = query;
      *entry.mutable_policy() = (*control)->policy();
      *entry.mutable_table() = ToCountTable(query, *evaluated, "bench", (*index)->generation());
      for (const TableCell& cell : evaluated->table.cells) entry.add_suppression_reasons(cell.reason);
      const auto append_start = std::chrono::steady_clock::now();
      if (!(*log)->Append(entry).ok()) return 1;
      append_latencies.push_back(SecondsSince(append_start) * 1000);
      if (!(*control)->Record(query.project(), **index, evaluated->table).ok()) return 1;
      latencies.push_back(SecondsSince(start) * 1000);
      per_query[std::filesystem::path(file).stem().string()].push_back(latencies.back());
      if (r == 0) sample_entries.push_back(SerializeEntry(entry));
    }
  }
  Report("aggregate.count_latency_p50", Percentile(latencies, 0.5), "ms");
  Report("aggregate.count_latency_p99", Percentile(latencies, 0.99), "ms");
  for (auto& [name, values] : per_query) {
    std::sort(values.begin(), values.end());
    Report("aggregate.count_latency_max." + name, values.back(), "ms");
  }
  Report("aggregate.log_append_fsync_p50", Percentile(append_latencies, 0.5), "ms");
  Report("aggregate.log_append_fsync_p99", Percentile(append_latencies, 0.99), "ms");

  // Verification: a log of real entries (the sample, repeated with fresh
  // indexes), checkpointed, verified offline.
  std::vector<std::string> entries;
  MerkleTree tree;
  for (int i = 0; i < absl::GetFlag(FLAGS_log_entries); ++i) {
    trelink::v1::LogEntry entry;
    entry.ParseFromString(sample_entries[static_cast<size_t>(i) % sample_entries.size()]);
    entry.set_index(static_cast<uint64_t>(i));
    entries.push_back(SerializeEntry(entry));
    tree.Append(LeafHash(entries.back()));
  }
  auto bench_signer = NoteSigner::Generate("trelink.bench/verify");
  const std::string checkpoint = bench_signer->Sign({"trelink.bench/verify", tree.size(), tree.Root()});
  const auto verify_start = std::chrono::steady_clock::now();
  LogVerification result = VerifyDisclosureLog(entries, checkpoint, bench_signer->verifier());
  const double seconds = SecondsSince(verify_start);
  if (!result.ok()) {
    std::fprintf(stderr, "verification failed: %s\n", result.problems[0].detail.c_str());
    return 1;
  }
  Report("audit.verify_rate", entries.size() / seconds, "entries/s");
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
