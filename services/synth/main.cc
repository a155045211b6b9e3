// trelink-synth: writes a seeded synthetic population as the three dataset
// CSVs plus truth.csv (the true person behind every participant, for
// evaluation only; it never enters the pipeline).
//
//   trelink-synth --mothers 5000 --seed 1 --errors default|harsh|none --out DIR
//
// The error profiles are documented in common/synth/population.h.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/flags_help.h"
#include "common/synth/population.h"

ABSL_FLAG(uint32_t, mothers, 5000, "mothers in the population (about 4 records each)");
ABSL_FLAG(uint64_t, seed, 1, "random seed: the same seed gives the same files");
ABSL_FLAG(std::string, out, ".", "output directory (must exist)");
ABSL_FLAG(std::string, errors, "default",
          "identifier error profile: default (realistic rates), harsh (every failure mode at high rates) or none");

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-synth");
  trelink::ListOwnFlagsInHelp();
  absl::SetProgramUsageMessage(
      "trelink-synth --mothers N --seed S --out DIR [--errors default|harsh|none]\n"
      "  writes a synthetic population: maternity.csv, social_care.csv, court.csv and truth.csv");
  absl::ParseCommandLine(argc, argv);
  trelink::PopulationOptions options;
  options.mothers = absl::GetFlag(FLAGS_mothers);
  options.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<trelink::ErrorProfile> profile = trelink::ErrorProfileNamed(absl::GetFlag(FLAGS_errors));
  if (!profile.ok()) {
    trelink::LogError(absl::StrCat("--errors: ", profile.status().message()));
    return 2;
  }
  options.errors = *profile;
  const trelink::SyntheticPopulation population = trelink::GeneratePopulation(options);
  absl::Status status = trelink::WritePopulation(population, absl::GetFlag(FLAGS_out));
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    return 1;
  }
  for (const auto& [name, dataset] : population.datasets) {
    std::printf("%-12s %8zu records -> %s/%s.csv\n", name.c_str(), dataset.rows.size(),
                absl::GetFlag(FLAGS_out).c_str(), name.c_str());
  }
  std::printf("truth        -> %s/truth.csv (evaluation only)\n", absl::GetFlag(FLAGS_out).c_str());
  return 0;
}
