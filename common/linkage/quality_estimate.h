// Estimates of a linkage's pairwise precision and recall that can be
// checked, made without ground truth: a gold-standard identifier (the NHS
// number by default) stands for "same person".
//
// The participants are linked a second time with the gold identifier hidden
// (a shadow linkage), and that linkage is scored on the pairs where both
// participants carry the identifier. The real linkage is then estimated in
// two parts, per pair of dataset/role:
//   - pairs where both participants carry the gold identifier are scored
//     against it directly (the real linkage used it there);
//   - every other linked pair is assumed as good as the shadow linkage was
//     on gold pairs of the same dataset/role pair (of all gold pairs, when
//     that pair has fewer than min_gold_pairs): precision p and recall r, so
//     it holds p of its links correct and misses (1 - r) / r as many more.
// The gold identifier has errors of its own (a typo in a social security
// number with no check digit): where the model compares it, the share of
// true matches on which it disagrees is the model's m for "disagree", and
// that many disagreeing links are counted as correct (never more than
// disagree) and that many true pairs added to those it shows.
// What this assumes, and the report says: records without the identifier
// are linked about as well as records with it once it is hidden.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/linkage/participant_table.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

struct LinkageOptions;
class ProbabilisticPass;

struct QualityOptions {
  bool enabled = true;
  std::string gold_token = "t.nhs";
  std::vector<std::string> hidden_keys = {"nhs", "t.nhs"};
  uint32_t min_gold_pairs = 30;
  // Record attributes linkage errors are reported by, besides dataset and
  // role (the gradients research questions ask about).
  std::vector<std::string> subgroup_attributes = {"region", "imd_decile"};
};

// `set_of` is the real linkage (a set label per participant); `options` the
// options it ran with (the shadow linkage runs with the same, minus the
// hidden keys); `model` the real linkage's fitted weights (may be empty);
// `fitted` its probabilistic pass (may be null), whose candidate pairs and
// parameters the shadow linkage reuses with the gold comparison missing.
absl::StatusOr<trelink::v1::QualityReport> EstimateQuality(const ParticipantTable& table,
                                                           const std::vector<uint32_t>& set_of,
                                                           const LinkageOptions& options,
                                                           const trelink::v1::ProbabilisticReport& model,
                                                           const ProbabilisticPass* fitted);

}  // namespace trelink
