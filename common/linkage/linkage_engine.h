// Links participants into persons: deterministic passes on match keys,
// strictest first, then a Fellegi-Sunter pass, all through merge guards.
#pragma once

#include <functional>
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
};

// Called after each pass with its name and the sets so far (for quality
// measurement against ground truth in tests and benchmarks).
using PassObserver = std::function<void(const std::string& pass, UnionFind& sets)>;

absl::StatusOr<LinkageResult> LinkParticipants(const ParticipantTable& table, const LinkageOptions& options,
                                               const PassObserver& observer = nullptr);

// Marks every count in 1..threshold-1 of `report` as suppressed and clears it.
void SuppressSmallCounts(trelink::v1::LinkageReport& report, uint32_t threshold);

}  // namespace trelink
