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

#include <memory>

#include "absl/status/statusor.h"
#include "common/linkage/blocking.h"
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
  uint32_t rounds = 2;
  uint64_t seed = 20261126;
};

struct ScoredPair {
  uint32_t a, b;
  double weight;  // log2 likelihood ratio
};

// Per participant, the term-frequency adjustment of an exact-agreement
// weight on the token in `slot`: log2(u / f), where u is the level's mean
// chance of agreement between random participants and f the frequency of
// the participant's own value among those carrying the token (0 when it
// carries none). A common value lowers the weight, a rare one raises it.
std::vector<float> TermFrequencyAdjustments(const ParticipantTable& table, int slot, double u);

class Comparator;

// The parameters a probabilistic pass fitted, to score later participants
// with the same model (an incremental linkage does not refit).
struct FittedModel {
  std::vector<std::vector<double>> m, u, level_weight;
  double prior = 0, threshold = 0;
  trelink::v1::ProbabilisticReport report;
};

// The probabilistic pass over one linkage run: blocks, measures u, fits m
// and the prior once (Prepare), then scores the candidate pairs as often as
// links change (Accepted), re-reading only the related_person comparison.
class ProbabilisticPass {
 public:
  // FAILED_PRECONDITION naming the model field when the model names a token
  // no stored batch carries. `table` and `options` must outlive the pass.
  static absl::StatusOr<std::unique_ptr<ProbabilisticPass>> Prepare(const ParticipantTable& table, UnionFind& sets,
                                                                     const ProbabilisticOptions& options);
  ~ProbabilisticPass();

  // The same pass over `table` (the same participants with the keys
  // `hidden` cleared: the quality estimate's shadow linkage), reusing the
  // candidate pairs and fitted parameters with the comparisons that read a
  // hidden token set to "missing". Null when a blocking rule reads a hidden
  // token (the candidates would differ): prepare a new pass then.
  absl::StatusOr<std::unique_ptr<ProbabilisticPass>> Hiding(const ParticipantTable& table, UnionFind& sets,
                                                            const std::vector<std::string>& hidden) const;

  // A pass over `table` with parameters fitted earlier: candidate pairs
  // only where one participant is `fresh` (an incremental linkage), term
  // frequencies from the whole table. FAILED_PRECONDITION as Prepare.
  static absl::StatusOr<std::unique_ptr<ProbabilisticPass>> Resume(const ParticipantTable& table, UnionFind& sets,
                                                                    const ProbabilisticOptions& options,
                                                                    const FittedModel& fitted,
                                                                    const std::vector<bool>& fresh);
  FittedModel fitted() const { return {m_, u_, level_weight_, prior_, threshold_, report_}; }

  // Candidate pairs in different sets whose posterior reaches the threshold,
  // strongest first.
  std::vector<ScoredPair> Accepted(UnionFind& sets);

  // Of `pairs` ((a << 32) | b, as in CandidatePairs), those in different
  // sets whose posterior reaches `match_probability`, strongest first: the
  // pairs a deterministic key proposed and a review token spoke against
  // (LinkageModel.key_reviews).
  std::vector<ScoredPair> Reviewed(const std::vector<uint64_t>& pairs, double match_probability, UnionFind& sets);

  // The model as fitted: candidate pairs, prior, threshold, m, u and match
  // weight per level.
  const trelink::v1::ProbabilisticReport& report() const { return report_; }

 private:
  ProbabilisticPass(const ParticipantTable& table, const ProbabilisticOptions& options);
  // Checked, with its comparator, not yet fitted or compared.
  static absl::StatusOr<std::unique_ptr<ProbabilisticPass>> Unfitted(const ParticipantTable& table, UnionFind& sets,
                                                                     const ProbabilisticOptions& options);
  void RefreshRelated(UnionFind& sets);
  void Fit(UnionFind& sets);
  void Compare(const std::vector<bool>* fresh);
  void TermFrequencies();
  double Weight(uint32_t code) const;
  // With the term-frequency adjustments for a pair one of whose
  // participants is `a` (at an exact level both carry a's value).
  double Weight(uint32_t code, uint32_t a) const;

  const ParticipantTable& table_;
  const ProbabilisticOptions& options_;
  std::vector<uint32_t> related_participant_, related_set_;
  std::unique_ptr<Comparator> comparator_;
  CandidatePairs candidates_;
  std::vector<uint32_t> codes_;  // per candidate pair: its comparison pattern
  std::vector<std::vector<double>> m_, u_;
  double prior_ = 0, threshold_ = 0;
  std::vector<std::vector<double>> level_weight_;  // log2(m/u) per comparison and level
  // Per term-frequency comparison: its index, and per participant the
  // adjustment of its first level's weight for the participant's value.
  std::vector<std::pair<size_t, std::vector<float>>> term_frequency_;
  trelink::v1::ProbabilisticReport report_;
};

}  // namespace trelink
