// Statistical disclosure control of count tables, with no gRPC:
//
//   1. primary suppression: counts 1..k-1 (and 0 unless zeros are released);
//   2. differencing: a cell whose population differs from a cell already
//      released in the project (or earlier in this table) by 1..k-1 persons;
//   3. secondary suppression: every line of the table (a column with its
//      margin, or a 1-D table with its total) that has a suppressed cell gets
//      at least two, whose true counts add up to at least k, and in two-way
//      tables the margin of every row holding a suppressed cell is
//      suppressed too, so no suppressed cell can be recovered or narrowed to
//      a range narrower than k from the released cells and margins;
//   4. rounding of released counts to the base (margins from unrounded data).
//
// Built by Create() from a validated policy; the release history is
// injected, so tests use a fresh one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sdc/release_history.h"
#include "trelink/v1/aggregate.pb.h"

namespace trelink {

// One cell of a table before disclosure control.
struct TableCell {
  std::vector<int> coords;  // one index per dimension; -1 marks a margin ("*")
  Population population;    // persons counted
  uint64_t count() const { return population.size(); }
  trelink::v1::CellStatus status = trelink::v1::CELL_STATUS_UNSPECIFIED;
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
  static absl::StatusOr<std::unique_ptr<DisclosureControl>> Create(const trelink::v1::DisclosurePolicy& policy,
                                                                    ReleaseHistory& history);

  // Applies the policy to `table` in place.
  void Apply(const std::string& project, CountTableDraft& table) const;
  // Remembers the released cells' populations in the history, all or none.
  // Call before the table is logged and sent; on an error, send nothing.
  absl::Status RecordReleased(const std::string& project, const CountTableDraft& table) const;

  const trelink::v1::DisclosurePolicy& policy() const { return policy_; }

 private:
  DisclosureControl(trelink::v1::DisclosurePolicy policy, ReleaseHistory& history)
      : policy_(std::move(policy)), history_(history) {}
  void SuppressSecondary(CountTableDraft& table) const;

  trelink::v1::DisclosurePolicy policy_;
  ReleaseHistory& history_;
};

bool IsSuppressed(trelink::v1::CellStatus status);

// Rounds half up to a multiple of `base`.
uint64_t RoundToBase(uint64_t value, uint32_t base);

}  // namespace trelink
