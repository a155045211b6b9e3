// Ingest + link at scale, in one process through the real libraries and the
// SQLite store: a synthetic population is pseudonymised, sealed, opened,
// validated and stored batch by batch, then linked. Reports wall times,
// records/s, peak RSS and pairwise precision/recall per pass, as JSON lines.
//
//   trelink-bench-linkage --mothers 290000 --dir /tmp/bench
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "bench/bench_report.h"
#include "absl/flags/parse.h"
#include "common/linkage/linkage_model.h"
#include "common/linkage/linkage_run.h"
#include "common/linkage/pairwise_quality.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_db.h"
#include "common/store/open_linked_store.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"

ABSL_FLAG(uint32_t, mothers, 290000, "mothers (about 3.5 records each)");
ABSL_FLAG(uint64_t, seed, 1, "population seed");
ABSL_FLAG(std::string, errors, "default", "identifier error profile: default, harsh or none");
ABSL_FLAG(std::string, dir, "/tmp/trelink-bench", "working directory for the store");
ABSL_FLAG(std::string, database_url, "",
          "keep the linked store in this PostgreSQL database (a libpq connection string; the database must hold no "
          "project \"bench\" yet) instead of SQLite in --dir");
ABSL_FLAG(std::string, catalogue, "deploy/config/catalogue.textproto", "catalogue file");
ABSL_FLAG(int, batch, 5000, "records per batch");
ABSL_FLAG(uint32_t, max_block_size, 0, "override the policy's max_block_size (0: default)");
ABSL_FLAG(uint32_t, max_key_group, 0, "override the policy's max_key_group (0: default)");
ABSL_FLAG(double, match_probability, 0, "override the policy's match_probability (0: default)");
ABSL_FLAG(bool, explain, false, "print false and missed links by dataset and role pair, and the model's weights");

namespace trelink {
namespace {

// Pairwise errors by (dataset.role, dataset.role), and how many missed pairs
// no blocking rule of the default model even proposes: for finding what a
// change should address; not part of any reported figure.
void Explain(const ParticipantTable& table, UnionFind& sets, const std::vector<uint64_t>& truth) {
  std::map<std::string, uint64_t> wrong, missed;
  std::map<uint64_t, std::vector<uint32_t>> by_set, by_person;
  for (uint32_t p = 0; p < table.size(); ++p) {
    by_set[sets.Find(p)].push_back(p);
    by_person[truth[p]].push_back(p);
  }
  auto scope = [&](uint32_t a, uint32_t b) { return table.Label(a) + " ~ " + table.Label(b); };
  // Which tokens agree ('=' agree, 'x' differ, '.' missing on a side) in
  // missed pairs no rule proposes: what a blocking rule would have to use.
  const std::vector<std::string> tokens = {"t.nhs", "t.given_name", "t.given_phonetic", "t.family_name",
                                           "t.family_phonetic", "t.dob", "t.dob_year_month", "t.sex",
                                           "t.postcode", "t.postcode_district"};
  std::map<std::string, std::map<std::string, uint64_t>> patterns;  // scope -> pattern -> pairs
  auto pattern = [&](uint32_t a, uint32_t b) {
    std::string out;
    for (const std::string& token : tokens) {
      const int slot = table.Slot(token);
      const uint64_t x = slot < 0 ? 0 : table.Key(a, slot), y = slot < 0 ? 0 : table.Key(b, slot);
      out += x == 0 || y == 0 ? '.' : (x == y ? '=' : 'x');
    }
    return out;
  };
  std::map<std::string, std::map<std::string, uint64_t>> false_patterns;
  for (const auto& [set, members] : by_set) {
    for (size_t i = 0; i < members.size(); ++i) {
      for (size_t j = i + 1; j < members.size(); ++j) {
        if (truth[members[i]] != truth[members[j]]) {
          wrong[scope(members[i], members[j])]++;
          false_patterns[scope(members[i], members[j])][pattern(members[i], members[j])]++;
        }
      }
    }
  }
  const auto model = DefaultLinkageModel();
  auto proposed = [&](uint32_t a, uint32_t b) {
    for (const auto& rule : model.blocking_rules()) {
      bool all = true;
      for (const auto& token : rule.tokens()) {
        const int slot = table.Slot(token);
        all = all && slot >= 0 && table.Key(a, slot) != 0 && table.Key(a, slot) == table.Key(b, slot);
      }
      if (all) return true;
    }
    return false;
  };
  uint64_t unproposed = 0, total_missed = 0;
  for (const auto& [person, members] : by_person) {
    for (size_t i = 0; i < members.size(); ++i) {
      for (size_t j = i + 1; j < members.size(); ++j) {
        const uint32_t a = members[i], b = members[j];
        if (sets.Find(a) == sets.Find(b)) continue;
        missed[scope(a, b)]++;
        ++total_missed;
        if (!proposed(a, b)) {
          ++unproposed;
          patterns[scope(a, b)][pattern(a, b)]++;
        }
      }
    }
  }
  std::printf("missed pairs %llu, of which no blocking rule proposes %llu\n",
              static_cast<unsigned long long>(total_missed), static_cast<unsigned long long>(unproposed));
  for (const auto& [what, n] : wrong) std::printf("false links %-50s %llu\n", what.c_str(), static_cast<unsigned long long>(n));
  for (const auto& [what, n] : missed) std::printf("missed      %-50s %llu\n", what.c_str(), static_cast<unsigned long long>(n));
  auto print_top = [](const char* title, const std::vector<std::string>& tokens,
                      const std::map<std::string, std::map<std::string, uint64_t>>& by_scope) {
    std::printf("%s by token agreement (%s)\n", title, absl::StrJoin(tokens, " ").c_str());
    for (const auto& [what, by_pattern] : by_scope) {
      std::vector<std::pair<uint64_t, std::string>> top;
      for (const auto& [p, n] : by_pattern) top.emplace_back(n, p);
      std::sort(top.rbegin(), top.rend());
      for (size_t i = 0; i < top.size() && i < 6; ++i) {
        std::printf("  %-45s %s %llu\n", what.c_str(), top[i].second.c_str(),
                    static_cast<unsigned long long>(top[i].first));
      }
    }
  };
  print_top("false links", tokens, false_patterns);
  print_top("unproposed missed pairs", tokens, patterns);
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir + "/linked.db");
  std::filesystem::remove(dir + "/linked.db-wal");
  std::filesystem::remove(dir + "/linked.db-shm");
  PopulationOptions population_options;
  population_options.mothers = absl::GetFlag(FLAGS_mothers);
  population_options.seed = absl::GetFlag(FLAGS_seed);
  auto profile = ErrorProfileNamed(absl::GetFlag(FLAGS_errors));
  if (!profile.ok()) {
    std::fprintf(stderr, "--errors: %s\n", std::string(profile.status().message()).c_str());
    return 2;
  }
  population_options.errors = *profile;
  const SyntheticPopulation population = GeneratePopulation(population_options);
  Report("linkage.records", static_cast<double>(population.records()), "records");

  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  auto linker = LinkerKeyPair::Generate();
  auto keyset = MasterKeyset::Generate();
  if (!catalogue.ok() || !linker.ok() || !keyset.ok()) {
    std::fprintf(stderr, "setup failed: %s\n", catalogue.status().ToString().c_str());
    return 1;
  }
  auto pseudonymiser =
      Pseudonymiser::Create(*std::move(keyset), linker->public_key(), DefaultKeySchema(), {}, Clock::System());
  const std::string database_url = absl::GetFlag(FLAGS_database_url);
  auto store = OpenLinkedStore(database_url.empty() ? dir + "/linked.db" : "", database_url, Clock::System());
  if (!pseudonymiser.ok() || !store.ok()) {
    std::fprintf(stderr, "setup failed: %s\n", store.status().ToString().c_str());
    return 1;
  }
  if (auto stored = (*store)->CountRecords("bench"); !stored.ok() || *stored != 0) {
    std::fprintf(stderr, "--database_url: the database already holds project \"bench\" (use an empty one)\n");
    return 2;
  }
  Report(database_url.empty() ? "linkage.store.sqlite" : "linkage.store.postgresql", 1, "store");
  BatchIngester ingester(*catalogue, *linker, **store, 100000);

  const auto ingest_start = std::chrono::steady_clock::now();
  auto totals = IngestPopulation(population, *catalogue, **pseudonymiser, ingester, "bench", absl::GetFlag(FLAGS_batch));
  if (!totals.ok()) {
    std::fprintf(stderr, "%s\n", totals.status().ToString().c_str());
    return 1;
  }
  const double ingest_seconds = SecondsSince(ingest_start);
  Report("linkage.ingest_seconds", ingest_seconds, "s");
  Report("linkage.ingest_rate", totals->records / ingest_seconds, "records/s");

  trelink::v1::LinkagePolicy policy;
  policy.set_max_block_size(absl::GetFlag(FLAGS_max_block_size));
  policy.set_max_key_group(absl::GetFlag(FLAGS_max_key_group));
  policy.set_match_probability(absl::GetFlag(FLAGS_match_probability));
  auto options = LinkageOptions::FromPolicy(policy);
  options->AddCatalogueConstraints(catalogue->proto());
  std::vector<std::pair<std::string, PairCounts>> quality;
  const auto link_start = std::chrono::steady_clock::now();
  // Quality is measured inside the run, after each pass; its time is
  // subtracted from the reported linkage times (a service runs no observer).
  double observer_seconds = 0;
  std::vector<uint64_t> final_sets;
  auto observer = [&](const std::string& pass, UnionFind& sets) {
    const auto observe_start = std::chrono::steady_clock::now();
    std::vector<uint64_t> predicted(sets.size());
    for (uint32_t p = 0; p < sets.size(); ++p) predicted[p] = sets.Find(p);
    quality.push_back({pass, CountPairs(predicted, totals->truth)});
    if (pass == "probabilistic") final_sets = predicted;
    observer_seconds += SecondsSince(observe_start);
  };
  auto report = RunLinkage({store->get(), &Clock::System(), nullptr, 10}, "bench", *options, observer);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  const double link_seconds = SecondsSince(link_start);
  if (absl::GetFlag(FLAGS_explain)) {
    std::printf("%s\n", report->probabilistic().DebugString().c_str());
    auto table = LoadParticipants(**store, "bench");
    UnionFind sets(table->size());
    for (uint32_t p = 0; p < table->size(); ++p) {
      const uint32_t a = sets.Find(p), b = sets.Find(static_cast<uint32_t>(final_sets[p]));
      if (a != b) sets.UnionRoots(a, b);
    }
    Explain(*table, sets, totals->truth);
  }
  Report("linkage.link_seconds_including_quality_measurement", link_seconds, "s");
  const double link_only = report->seconds() - observer_seconds;
  Report("linkage.link_seconds", link_only, "s");
  Report("linkage.phase.load_seconds", report->load_seconds(), "s");
  Report("linkage.phase.link_seconds", report->link_seconds() - observer_seconds, "s");
  Report("linkage.phase.save_seconds", report->save_seconds(), "s");
  Report("linkage.ingest_plus_link_seconds", ingest_seconds + link_only, "s");
  for (const auto& estimate : report->quality().estimates()) {
    if (estimate.scope() != "all" || !estimate.estimated()) continue;
    Report("linkage.estimated_precision", estimate.precision(), "ratio");
    Report("linkage.estimated_recall", estimate.recall(), "ratio");
  }
  if (absl::GetFlag(FLAGS_explain)) std::printf("%s\n", report->quality().DebugString().c_str());
  for (const auto& [pass, counts] : quality) {
    Report("linkage.quality." + pass + ".precision", counts.precision(), "ratio");
    Report("linkage.quality." + pass + ".recall", counts.recall(), "ratio");
  }
  // The alternative a TRE would otherwise use: the hashed keys loaded into
  // SQLite and joined with SQL on each deterministic key, pairs merged.
  {
    auto table = LoadParticipants(**store, "bench");
    const auto sql_start = std::chrono::steady_clock::now();
    auto db = SqliteDb::Open(dir + "/sql_join.db");
    (*db)->Exec("DROP TABLE IF EXISTS keys").IgnoreError();
    (*db)->Exec("CREATE TABLE keys(k INTEGER, v INTEGER, p INTEGER)").IgnoreError();
    (*db)->Exec("BEGIN").IgnoreError();
    auto insert = (*db)->Prepare("INSERT INTO keys VALUES(?,?,?)");
    for (const std::string& key : options->deterministic_keys) {
      const int slot = table->Slot(key);
      for (uint32_t p = 0; p < table->size(); ++p) {
        const uint64_t v = table->Key(p, slot);
        if (v == 0) continue;
        insert->Bind(1, slot).Bind(2, static_cast<int64_t>(v)).Bind(3, p);
        insert->Run().IgnoreError();
      }
    }
    (*db)->Exec("COMMIT").IgnoreError();
    (*db)->Exec("CREATE INDEX keys_kv ON keys(k, v)").IgnoreError();
    auto join = (*db)->Prepare("SELECT a.p, b.p FROM keys a JOIN keys b ON a.k = b.k AND a.v = b.v AND a.p < b.p");
    UnionFind sets(table->size());
    while (*join->Step()) {
      const uint32_t a = sets.Find(static_cast<uint32_t>(join->Int(0))), b = sets.Find(static_cast<uint32_t>(join->Int(1)));
      if (a != b) sets.UnionRoots(a, b);
    }
    const double sql_seconds = SecondsSince(sql_start);
    std::vector<uint64_t> predicted(table->size());
    for (uint32_t p = 0; p < table->size(); ++p) predicted[p] = sets.Find(p);
    const PairCounts counts = CountPairs(predicted, totals->truth);
    Report("linkage.sqlite_join.link_seconds", sql_seconds, "s");
    ReportRatio("linkage.speedup_vs_sqlite_join", sql_seconds / link_only, "linkage.sqlite_join.link_seconds");
    Report("linkage.sqlite_join.precision", counts.precision(), "ratio");
    Report("linkage.sqlite_join.recall", counts.recall(), "ratio");
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  Report("linkage.peak_rss", usage.ru_maxrss / 1024.0, "MiB");
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
