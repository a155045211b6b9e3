// A reproducible synthetic population for tests, benchmarks and the demo:
// mothers and babies over 2011-2023 in the nine English regions, with
// maternity events, social-care episodes (including mothers' own childhood
// looked-after records) and family-court proceedings, written as the three
// CSV datasets of the design brief, with the true person behind every
// participant kept apart as ground truth.
//
// Identifiers carry realistic errors: typos, nicknames, given/family swaps,
// surname change at marriage, moves between postcodes, missing and invalid
// NHS numbers (social care about 20% missing, court always missing),
// transposed day and month, twins.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trelink {

struct PopulationOptions {
  uint64_t seed = 1;
  uint32_t mothers = 1000;
  bool identifier_errors = true;
};

struct SyntheticRow {
  std::vector<std::string> cells;  // in the dataset's header order
  // The true person of each participant present in the row, by role.
  std::vector<std::pair<std::string, uint64_t>> truth;
};

struct SyntheticDataset {
  std::vector<std::string> header;
  std::vector<SyntheticRow> rows;
};

struct SyntheticPopulation {
  std::map<std::string, SyntheticDataset> datasets;  // maternity, social_care, court
  size_t records() const;
};

SyntheticPopulation GeneratePopulation(const PopulationOptions& options);

// Reads back what WritePopulation wrote.
absl::StatusOr<SyntheticPopulation> ReadPopulation(const std::string& dir);

// Writes DIR/<dataset>.csv and DIR/truth.csv (dataset, row number, role,
// person) — the truth file is for evaluation and never enters the pipeline.
absl::Status WritePopulation(const SyntheticPopulation& population, const std::string& dir);

}  // namespace trelink
