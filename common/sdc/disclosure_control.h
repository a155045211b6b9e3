// Statistical disclosure control of count tables, with no gRPC. A project's
// policy names one of two modes.
//
// sdc (rules with a release audit):
//   1. primary suppression: counts 1..k-1 (and 0 unless zeros are released);
//   2. group disclosure: a line of the table whose persons all fall in one
//      category is withheld whole;
//   3. secondary suppression within the table (lines with their margins);
//   4. the release audit (release_audit.h): the table together with every
//      earlier release of the project, re-expressed over the persons of the
//      current linkage generation, must leave every protected count an
//      interval at least k wide; cells are withheld until it does;
//   5. rounding of released counts to the base.
//
// dp (noise with a budget): each person counts in at most
// dp.max_contributions interior cells; each interior cell gets discrete
// Laplace noise of scale max_contributions / epsilon; margins are sums of
// the noisy cells; then thresholding at k and rounding. Budget and repeats
// are kept by the PrivacyLedger.
//
// Towards analysts every withheld cell has the one status SUPPRESSED; the
// reason is kept for the disclosure log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/sdc/discrete_noise.h"
#include "common/sdc/release_audit.h"
#include "common/sdc/release_history.h"
#include "trelink/v1/aggregate.pb.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink {

// Persons of a cell: sorted, distinct dense person indexes of the
// generation (PersonSpace).
using Population = std::vector<uint64_t>;

// One cell of a table before disclosure control.
struct TableCell {
  std::vector<int> coords;  // one index per dimension; -1 marks a margin ("*")
  Population population;    // persons counted
  std::string definition;   // digest of what the cell counts (equal for the same cell asked again)
  uint64_t count() const { return population.size(); }
  trelink::v1::CellStatus status = trelink::v1::CELL_STATUS_UNSPECIFIED;
  trelink::v1::SuppressionReason reason = trelink::v1::NOT_SUPPRESSED;
  uint64_t released = 0;  // after control: the published count
};

struct CountTableDraft {
  std::vector<int> dimension_sizes;
  std::vector<TableCell> cells;  // interior cells and, when present, margins
};

// Fills in a default for every unset field and checks the rest.
absl::StatusOr<trelink::v1::DisclosurePolicy> ValidatePolicy(trelink::v1::DisclosurePolicy policy);

class DisclosureControl {
 public:
  // `noise` is used in dp mode only (SodiumRandom in services).
  static absl::StatusOr<std::unique_ptr<DisclosureControl>> Create(const trelink::v1::DisclosurePolicy& policy,
                                                                    ReleaseHistory& history, RandomSource* noise);

  // Applies the policy to `table` in place. sdc mode fills `audit`. An
  // error (the history could not be read) releases nothing.
  absl::Status Apply(const std::string& project, const PersonSpace& persons, CountTableDraft& table,
                     trelink::v1::ReleaseAuditSummary* audit);
  // Records the table in the release history, durably: call after Apply
  // and before the table is logged and sent (sdc mode; dp needs no history).
  absl::Status Record(const std::string& project, const PersonSpace& persons, const CountTableDraft& table);

  const trelink::v1::DisclosurePolicy& policy() const { return policy_; }
  bool dp() const { return policy_.mode() == trelink::v1::DisclosurePolicy::DP; }

 private:
  DisclosureControl(trelink::v1::DisclosurePolicy policy, ReleaseHistory& history, RandomSource* noise)
      : policy_(std::move(policy)), history_(history), noise_(noise) {}
  void SuppressSecondary(CountTableDraft& table) const;
  void CheckGroupDisclosure(CountTableDraft& table) const;
  absl::StatusOr<ReleaseAudit*> AuditFor(const std::string& project, const PersonSpace& persons);
  void Audit(ReleaseAudit& audit, CountTableDraft& table, trelink::v1::ReleaseAuditSummary& summary) const;
  void ApplyNoise(CountTableDraft& table) const;
  void Round(CountTableDraft& table) const;
  std::pair<uint64_t, uint64_t> KnownInterval(uint64_t released) const;
  std::pair<uint64_t, uint64_t> ReleasedInterval(const TableCell& cell) const;
  std::optional<absl::flat_hash_map<uint64_t, uint64_t>> RisksWithout(ReleaseAudit& audit, const CountTableDraft& table,
                                                                       const std::vector<ReleaseAudit::CellId>& ids,
                                                                       const std::vector<ReleaseAudit::Risk>& risks_with,
                                                                       absl::Time deadline) const;

  trelink::v1::DisclosurePolicy policy_;
  ReleaseHistory& history_;
  RandomSource* noise_;
  std::mutex mu_;
  struct ProjectAudit {
    uint64_t generation = 0;
    std::unique_ptr<ReleaseAudit> audit;
  };
  std::map<std::string, ProjectAudit> audits_;
};

bool IsSuppressed(trelink::v1::CellStatus status);

// Rounds half up to a multiple of `base`.
uint64_t RoundToBase(uint64_t value, uint32_t base);

}  // namespace trelink
