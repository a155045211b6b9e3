// Links participants into persons: deterministic passes on match keys,
// strictest first, then a Fellegi-Sunter pass, all through merge guards.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/linkage/fellegi_sunter.h"
#include "common/linkage/merge_guard.h"
#include "common/linkage/participant_table.h"
#include "common/linkage/quality_estimate.h"
#include "common/linkage/union_find.h"
#include "trelink/v1/config.pb.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

struct LinkageOptions {
  std::vector<std::string> deterministic_keys;
  uint32_t max_key_group = 25;
  bool probabilistic = true;
  // Roles a person holds in at most one record with given events.
  std::vector<OncePerPersonRule> once_per_person;
  // Roles with one related person each (a baby has one mother).
  std::vector<OneRelatedPersonRule> one_related_person;
  ProbabilisticOptions fellegi_sunter;
  // How the report estimates precision and recall (a second, shadow
  // linkage: see quality_estimate.h).
  QualityOptions quality;
  // Set for the shadow linkage only: reuse this pass's candidate pairs and
  // fitted parameters, with the quality's hidden keys as missing.
  const ProbabilisticPass* fitted_pass = nullptr;

  // From config, with defaults: the default schema's match keys, in order.
  static absl::StatusOr<LinkageOptions> FromPolicy(const trelink::v1::LinkagePolicy& policy);
  // Adds the catalogue's once-per-person roles.
  void AddCatalogueConstraints(const trelink::v1::Catalogue& catalogue);
};

struct LinkageResult {
  // The set (a representative participant index) of every participant.
  std::vector<uint32_t> set_of;
  // Counts as computed: not yet disclosure-controlled.
  trelink::v1::LinkageReport report;
  // The probabilistic pass's parameters, when it ran.
  std::optional<FittedModel> fitted;
};

// Where an incremental linkage starts (see linkage_run.h): the persons of
// an earlier linkage of a prefix of the table, kept whole, and the
// participants to link into them.
struct IncrementalSeed {
  // Per participant of the earlier linkage, its set then (a participant
  // index); participants released from their persons are their own set.
  const std::vector<uint32_t>* previous_set_of = nullptr;
  // Per participant of the table: to be linked (new, or released from a
  // person that lost a record). Only key groups and candidate pairs with a
  // fresh participant are looked at.
  const std::vector<bool>* fresh = nullptr;
  // The probabilistic pass's parameters as fitted by the earlier linkage.
  const FittedModel* fitted = nullptr;
};

// Called after each pass with its name and the sets so far (for quality
// measurement against ground truth in tests and benchmarks).
using PassObserver = std::function<void(const std::string& pass, UnionFind& sets)>;

// Retired participants (ParticipantTable::Retire) stay alone and are not
// counted. With a seed, the quality estimate is left to the caller.
absl::StatusOr<LinkageResult> LinkParticipants(const ParticipantTable& table, const LinkageOptions& options,
                                               const PassObserver& observer = nullptr,
                                               const IncrementalSeed* seed = nullptr);

// Marks every count in 1..threshold-1 of `report` as suppressed and clears it.
void SuppressSmallCounts(trelink::v1::LinkageReport& report, uint32_t threshold);

}  // namespace trelink
