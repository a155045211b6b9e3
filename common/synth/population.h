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

// How often each kind of identifier error happens, per recorded occurrence.
// Two profiles are defined: Default() (realistic rates) and Harsh() (every
// failure mode seen on data trelink did not generate, at high rates,
// including nicknames the normaliser does not know). None() has no errors.
struct ErrorProfile {
  double nickname = 0;          // a nickname for the given name
  double unknown_nickname = 0;  // a nickname outside the normaliser's list
  double given_typo = 0;        // one substitution, deletion or transposition
  double family_typo = 0;
  double upper_case = 0;
  double hyphen_as_space = 0;
  double names_swapped = 0;     // given and family name exchanged
  double dob_transposed = 0;    // day and month exchanged (when both <= 12)
  double dob_days_off = 0;      // keyed a few days wrong
  double dob_year_off = 0;      // year off by one
  double moved = 0;             // a new postcode at a pregnancy
  double nhs_missing_mother = 0;
  double nhs_missing_baby = 0;
  double nhs_missing_social_care = 0;
  double nhs_mistyped = 0;
  double mother_nhs_on_baby = 0;     // the mother's NHS number keyed on the baby's row
  double baby_on_pregnancy_rows = 0; // the baby's identifiers repeated on the pregnancy's other rows
  double unnamed_newborn = 0;        // birth row with the given name "Baby"
  double maiden_name_in_social_care = 0;  // an adult's social-care record under her birth name
  double court_old_postcode = 0;     // the parent's postcode from an earlier address

  static ErrorProfile None() { return {}; }
  static ErrorProfile Default();
  static ErrorProfile Harsh();
};

struct PopulationOptions {
  uint64_t seed = 1;
  uint32_t mothers = 1000;
  ErrorProfile errors = ErrorProfile::Default();
};

// "default", "harsh" or "none".
absl::StatusOr<ErrorProfile> ErrorProfileNamed(const std::string& name);

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

// Takes the last `share` of every dataset's rows out of `population` and
// returns them as a later extract (next month's delivery).
SyntheticPopulation SplitOffExtract(SyntheticPopulation& population, double share);

// Reads back what WritePopulation wrote.
absl::StatusOr<SyntheticPopulation> ReadPopulation(const std::string& dir);

// Writes DIR/<dataset>.csv and DIR/truth.csv (dataset, row number, role,
// person) — the truth file is for evaluation and never enters the pipeline.
absl::Status WritePopulation(const SyntheticPopulation& population, const std::string& dir);

}  // namespace trelink
