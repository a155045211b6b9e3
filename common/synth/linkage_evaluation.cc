#include "common/synth/linkage_evaluation.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/csv/csv_reader.h"
#include "common/linkage/batch_ingest.h"
#include "common/linkage/linkage_run.h"
#include "common/status/status_macros.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"

namespace trelink {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// "rec-1070-dup-0" -> 1070.
bool FebrlEntity(absl::string_view rec_id, uint64_t& entity) {
  std::vector<absl::string_view> parts = absl::StrSplit(absl::StripAsciiWhitespace(rec_id), '-');
  return parts.size() >= 3 && parts[0] == "rec" && absl::SimpleAtoi(parts[1], &entity);
}

}  // namespace

absl::StatusOr<LinkageEvaluation> EvaluateLinkage(const SyntheticPopulation& population, const Catalogue& catalogue,
                                                  const trelink::v1::KeySchema& schema,
                                                  const LinkageOptions& options, const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(absl::StrCat(dir, "/linked.db", suffix));
  TRELINK_ASSIGN_OR_RETURN(LinkerKeyPair linker, LinkerKeyPair::Generate());
  TRELINK_ASSIGN_OR_RETURN(MasterKeyset keyset, MasterKeyset::Generate());
  PseudonymiserLimits limits;
  limits.earliest_date_of_birth = absl::CivilDay(1850, 1, 1);
  TRELINK_ASSIGN_OR_RETURN(auto pseudonymiser,
                           Pseudonymiser::Create(std::move(keyset), linker.public_key(), schema, limits, Clock::System()));
  TRELINK_ASSIGN_OR_RETURN(auto store, SqliteLinkedStore::Open(dir + "/linked.db", Clock::System()));
  BatchIngester ingester(catalogue, linker, *store, 100000);

  LinkageEvaluation evaluation;
  const auto ingest_start = std::chrono::steady_clock::now();
  TRELINK_ASSIGN_OR_RETURN(PipelineTotals totals,
                           IngestPopulation(population, catalogue, *pseudonymiser, ingester, "evaluation", 5000));
  evaluation.ingest_seconds = SecondsSince(ingest_start);
  evaluation.records = totals.records;

  double observer_seconds = 0;
  auto observer = [&](const std::string& pass, UnionFind& sets) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint64_t> predicted(sets.size());
    for (uint32_t p = 0; p < sets.size(); ++p) predicted[p] = sets.Find(p);
    evaluation.passes.push_back({pass, CountPairs(predicted, totals.truth)});
    observer_seconds += SecondsSince(start);
  };
  TRELINK_ASSIGN_OR_RETURN(evaluation.report,
                           RunLinkage({store.get(), &Clock::System(), nullptr, 10}, "evaluation", options, observer));
  evaluation.link_seconds = evaluation.report.seconds() - observer_seconds;
  evaluation.truth = std::move(totals.truth);
  return evaluation;
}

absl::StatusOr<SyntheticPopulation> ReadFebrlFiles(const std::vector<std::string>& paths,
                                                   const std::string& dataset_name) {
  SyntheticPopulation population;
  SyntheticDataset& dataset = population.datasets[dataset_name];
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    CsvReader reader(in);
    std::vector<std::string> row;
    bool header = true;
    while (true) {
      TRELINK_ASSIGN_OR_RETURN(bool more, reader.Next(row));
      if (!more) break;
      if (header) {
        if (!dataset.header.empty() && dataset.header != row) {
          return absl::InvalidArgumentError(absl::StrCat(path, ": header differs from the first file's"));
        }
        dataset.header = row;
        header = false;
        continue;
      }
      uint64_t entity = 0;
      if (row.empty() || !FebrlEntity(row[0], entity)) {
        return absl::InvalidArgumentError(absl::StrCat(path, " line ", reader.row_line(), ": rec_id is not rec-N-..."));
      }
      dataset.rows.push_back({row, {{"person", entity}}});
    }
  }
  return population;
}

}  // namespace trelink
