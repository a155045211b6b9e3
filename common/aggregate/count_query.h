// Count queries over the event index: validation against the catalogue and
// the data, evaluation into a draft table of person populations (cells and
// margins), and the released table after disclosure control. Never a row.
//
// Semantics: the unit is distinct persons in the cohort's role. A person is
// counted once in every cell that one of their cohort events falls in. A
// flag that is not a group-by dimension restricts the cohort to events for
// which it holds.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/aggregate/event_index.h"
#include "common/sdc/disclosure_control.h"
#include "trelink/v1/aggregate.pb.h"

namespace trelink {

struct EvaluatedCount {
  CountTableDraft table;
  std::vector<std::string> dimensions;               // names, in group_by order
  std::vector<std::vector<std::string>> level_labels;  // per dimension
};

// The most group_by dimensions a query may have. Tables are capped by cells
// anyway; this bounds the work done before the cap can be checked.
inline constexpr int kMaxGroupBy = 8;
// Margins of every order (2^n - 1 per cell) are produced for up to this many.
inline constexpr size_t kMaxDimensionsWithTotals = 4;

// INVALID_ARGUMENT naming the field for an unknown dataset, event, role,
// attribute or flag, a non-groupable attribute, a window with from > to, a
// date range outside the data, more than kMaxGroupBy or repeated group_by
// dimensions; RESOURCE_EXHAUSTED above `max_cells` (counting margins).
absl::StatusOr<EvaluatedCount> EvaluateCount(const EventIndex& index, const trelink::v1::CountQuery& query,
                                             uint32_t max_cells);

// The table to release: every cell with its labels, released count and status.
trelink::v1::CountTable ToCountTable(const trelink::v1::CountQuery& query, const EvaluatedCount& evaluated,
                                     const std::string& policy_version, uint64_t generation);

}  // namespace trelink
