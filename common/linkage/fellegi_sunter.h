// The probabilistic pass: Fellegi-Sunter record linkage over field tokens,
// configured as data (trelink.v1.LinkageModel).
//
// Candidate pairs come from the model's blocking rules (participants sharing
// every token of a rule; blocks above a size cap skipped). Each pair gets a
// comparison pattern: per comparison, the first level one of whose tokens
// agrees, "disagree", or "missing". u comes from random pairs and is held
// fixed (estimating it on blocked pairs would make agreement on the blocking
// fields worthless). m is fitted by EM per blocking rule, leaving out the
// comparisons the rule fixes, and averaged over the rules. The prior is the
// chance that two random participants are one person, from the pairs the
// deterministic passes linked. A pair is accepted when its posterior reaches
// the policy's threshold.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/linkage/participant_table.h"
#include "common/linkage/union_find.h"
#include "trelink/v1/config.pb.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

struct ProbabilisticOptions {
  trelink::v1::LinkageModel model;  // validated (common/linkage/linkage_model.h)
  double match_probability = 0.995;
  uint32_t max_block_size = 60;
  uint32_t random_pairs_for_u = 400000;
  // Scoring rounds at most (links found in one round inform the
  // related_person comparison of the next).
  uint32_t rounds = 3;
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
// FAILED_PRECONDITION naming the model field when the model names a token
// no stored batch carries.
absl::StatusOr<ProbabilisticOutcome> ScoreCandidatePairs(const ParticipantTable& table, UnionFind& sets,
                                                         const ProbabilisticOptions& options);

}  // namespace trelink
