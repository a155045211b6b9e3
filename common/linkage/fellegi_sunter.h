// The probabilistic pass: Fellegi-Sunter record linkage over field tokens.
//
// Candidate pairs come from blocking (participants sharing a combination of
// tokens, blocks above a size cap skipped). Each pair gets a comparison
// vector: per field, the first agreement level whose token matches
// (e.g. family name: exact, then Soundex, then swapped with the given name),
// "disagree", or "missing". m- and u-probabilities and the match prior are
// estimated by EM over the candidate pairs' vector counts (u starts from its
// value on random pairs). A pair is accepted when its posterior match
// probability reaches the policy's threshold.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/linkage/participant_table.h"
#include "common/linkage/union_find.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

// One compared field: agreement levels in order, each named and tested by a
// token (a key name of the pseudonymiser's schema).
struct ComparisonField {
  std::string name;
  std::vector<std::pair<std::string, std::string>> levels;  // (level name, token key name)
};

// NHS number, given name, family name, date of birth, sex, postcode.
std::vector<ComparisonField> DefaultComparisonFields();

// Token combinations participants are blocked on.
std::vector<std::vector<std::string>> DefaultBlockingRules();

struct ProbabilisticOptions {
  double match_probability = 0.995;
  uint32_t max_block_size = 60;
  uint32_t random_pairs_for_u = 400000;
  uint64_t seed = 20261126;
};

struct ScoredPair {
  uint32_t a, b;
  double weight;  // log2 likelihood ratio
};

struct ProbabilisticOutcome {
  std::vector<ScoredPair> accepted;  // posterior >= threshold, strongest first, across current sets
  trelink::v1::ProbabilisticReport report;
};

// Scores candidate pairs given the sets formed so far (pairs already in one
// set inform EM but are not returned).
ProbabilisticOutcome ScoreCandidatePairs(const ParticipantTable& table, UnionFind& sets,
                                         const ProbabilisticOptions& options);

}  // namespace trelink
