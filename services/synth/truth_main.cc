// trelink-truth: the true answers to count queries on a synthetic
// population, for evaluation only. The population goes through the same
// pseudonymisation, ingest and query code in one process, but persons are
// assigned from the ground truth instead of by linkage, and no disclosure
// control is applied. Writes OUT/<query file name>.truth.csv
// ("dimension values...,count").
//
//   trelink-truth --population DIR --catalogue FILE --out DIR QUERY_FILE...
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "common/aggregate/count_query.h"
#include "common/config/text_config.h"
#include "common/linkage/linkage_run.h"
#include "common/log/log.h"
#include "common/server/flags_help.h"
#include "common/pseudonym/key_schema.h"
#include "common/status/status_macros.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"

ABSL_FLAG(std::string, population, "", "directory written by trelink-synth");
ABSL_FLAG(std::string, catalogue, "", "catalogue file");
ABSL_FLAG(std::string, out, "", "output directory");

namespace trelink {
namespace {

absl::Status Run(const std::vector<std::string>& query_files) {
  const std::string out = absl::GetFlag(FLAGS_out);
  TRELINK_ASSIGN_OR_RETURN(SyntheticPopulation population, ReadPopulation(absl::GetFlag(FLAGS_population)));
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(absl::GetFlag(FLAGS_catalogue)));
  TRELINK_ASSIGN_OR_RETURN(LinkerKeyPair linker, LinkerKeyPair::Generate());
  TRELINK_ASSIGN_OR_RETURN(MasterKeyset keyset, MasterKeyset::Generate());
  TRELINK_ASSIGN_OR_RETURN(auto pseudonymiser, Pseudonymiser::Create(std::move(keyset), linker.public_key(),
                                                                     DefaultKeySchema(), {}, Clock::System()));
  std::filesystem::create_directories(out);
  const std::string db = out + "/truth.db";
  std::filesystem::remove(db);
  TRELINK_ASSIGN_OR_RETURN(auto store, SqliteLinkedStore::Open(db, Clock::System()));
  BatchIngester ingester(catalogue, linker, *store, 100000);
  TRELINK_ASSIGN_OR_RETURN(PipelineTotals totals,
                           IngestPopulation(population, catalogue, *pseudonymiser, ingester, "demo", 5000));
  TRELINK_ASSIGN_OR_RETURN(ParticipantTable table, LoadParticipants(*store, "demo"));
  if (table.size() != totals.truth.size()) return absl::InternalError("participants do not match the truth");
  std::vector<PersonAssignment> assignments;
  for (uint32_t p = 0; p < table.size(); ++p) assignments.push_back({table.participant_id(p), totals.truth[p]});
  trelink::v1::LinkageReport report;
  report.set_created_at("truth");
  TRELINK_RETURN_IF_ERROR(store->SaveCompleteGeneration("demo", report, assignments, {}));
  TRELINK_ASSIGN_OR_RETURN(auto index, EventIndex::Build(*store, catalogue, "demo"));
  for (const std::string& file : query_files) {
    trelink::v1::CountQuery query;
    TRELINK_RETURN_IF_ERROR(LoadTextConfig(file, query));
    TRELINK_ASSIGN_OR_RETURN(EvaluatedCount evaluated, EvaluateCount(*index, query, 1000000));
    const std::string path = out + "/" + std::filesystem::path(file).stem().string() + ".truth.csv";
    std::ofstream csv(path);
    csv << absl::StrJoin(evaluated.dimensions, ",") << (evaluated.dimensions.empty() ? "" : ",") << "count\n";
    for (const TableCell& cell : evaluated.table.cells) {
      std::vector<std::string> values;
      for (size_t i = 0; i < cell.coords.size(); ++i) {
        values.push_back(cell.coords[i] < 0 ? "*" : evaluated.level_labels[i][static_cast<size_t>(cell.coords[i])]);
      }
      csv << absl::StrJoin(values, ",") << (values.empty() ? "" : ",") << cell.count() << "\n";
    }
    if (!csv) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  std::printf("true answers for %zu queries in %s (evaluation only)\n", query_files.size(), out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-truth");
  trelink::ListOwnFlagsInHelp();
  absl::SetProgramUsageMessage(
      "trelink-truth --population DIR --catalogue FILE --out DIR QUERY_FILE...\n"
      "  true answers of each query over a trelink-synth population, for evaluation");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> files(positional.begin() + 1, positional.end());
  absl::Status status = trelink::Run(files);
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    return 1;
  }
  return 0;
}
