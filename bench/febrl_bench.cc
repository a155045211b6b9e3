// Linkage quality on the public FEBRL benchmark files (data trelink did not
// generate), with one configuration per data set read from deploy/febrl:
// the catalogue maps the files' columns, the key schema says what the
// pseudonymiser hashes, the linkage policy holds the model. Reports pairwise
// precision and recall after every pass, and the linkage time, as JSON lines.
//
//   trelink-bench-febrl --set 4 --febrl ../shared/benchmarks/febrl
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/bench_report.h"
#include "common/config/text_config.h"
#include "common/synth/linkage_evaluation.h"

ABSL_FLAG(std::string, febrl, "../shared/benchmarks/febrl", "folder of the FEBRL files");
ABSL_FLAG(std::string, set, "4", "3 (dedup of dataset3.csv) or 4 (dataset4a.csv with dataset4b.csv)");
ABSL_FLAG(std::string, config, "deploy/febrl", "folder of catalogue.textproto, key_schema.textproto, linkage.textproto");
ABSL_FLAG(std::string, dir, "/tmp/trelink-bench-febrl", "working directory for the store");

namespace trelink {
namespace {

int Main() {
  const std::string febrl = absl::GetFlag(FLAGS_febrl), config = absl::GetFlag(FLAGS_config);
  const std::string set = absl::GetFlag(FLAGS_set);
  std::vector<std::string> files;
  if (set == "3") {
    files = {febrl + "/dataset3.csv"};
  } else if (set == "4") {
    files = {febrl + "/dataset4a.csv", febrl + "/dataset4b.csv"};
  } else {
    std::fprintf(stderr, "--set: 3 or 4\n");
    return 2;
  }
  auto population = ReadFebrlFiles(files, "register");
  auto catalogue = Catalogue::Load(config + "/catalogue.textproto");
  trelink::v1::KeySchema schema;
  trelink::v1::LinkagePolicy policy;
  absl::Status loaded = LoadTextConfig(config + "/key_schema.textproto", schema);
  if (loaded.ok()) loaded = LoadTextConfig(config + "/linkage.textproto", policy);
  if (!population.ok() || !catalogue.ok() || !loaded.ok()) {
    std::fprintf(stderr, "%s %s %s\n", population.status().ToString().c_str(), catalogue.status().ToString().c_str(),
                 loaded.ToString().c_str());
    return 1;
  }
  auto options = LinkageOptions::FromPolicy(policy);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.status().ToString().c_str());
    return 1;
  }
  options->AddCatalogueConstraints(catalogue->proto());
  auto evaluation = EvaluateLinkage(*population, *catalogue, schema, *options, absl::GetFlag(FLAGS_dir));
  if (!evaluation.ok()) {
    std::fprintf(stderr, "%s\n", evaluation.status().ToString().c_str());
    return 1;
  }
  const std::string prefix = "febrl" + set;
  Report(prefix + ".records", static_cast<double>(evaluation->records), "records");
  Report(prefix + ".true_pairs", static_cast<double>(evaluation->final().actual), "pairs");
  for (const PassQuality& pass : evaluation->passes) {
    Report(prefix + ".quality." + pass.pass + ".precision", pass.counts.precision(), "ratio");
    Report(prefix + ".quality." + pass.pass + ".recall", pass.counts.recall(), "ratio");
  }
  Report(prefix + ".precision", evaluation->final().precision(), "ratio");
  Report(prefix + ".recall", evaluation->final().recall(), "ratio");
  Report(prefix + ".link_seconds", evaluation->link_seconds, "s");
  for (const auto& estimate : evaluation->report.quality().estimates()) {
    if (estimate.scope() != "all" || !estimate.estimated()) continue;
    Report(prefix + ".estimated_precision", estimate.precision(), "ratio");
    Report(prefix + ".estimated_recall", estimate.recall(), "ratio");
  }
  if (getenv("TRELINK_BENCH_VERBOSE")) std::printf("%s\n", evaluation->report.probabilistic().DebugString().c_str());
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
