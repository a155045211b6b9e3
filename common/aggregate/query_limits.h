// Size limits on every field of a CountQuery, checked before anything about
// the query is logged: the disclosure log records each request, is fsync'd
// and never shrinks, so an unbounded name or filter list would let any caller
// inflate it. Limits are far above what a real query needs.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "trelink/v1/aggregate.pb.h"

namespace trelink {

// Every string: the query name, project, dataset, role, dates, events,
// attribute, flag and filter-value labels.
inline constexpr size_t kMaxQueryLabelBytes = 128;
// Events of a cohort or a flag; filters of a cohort or a flag.
inline constexpr int kMaxQueryListEntries = 32;
// Values of one filter (an integer attribute may list every level).
inline constexpr int kMaxFilterValues = 256;
inline constexpr int kMaxQueryFlags = 16;
// The whole query, serialised: the lists above multiply.
inline constexpr size_t kMaxQueryBytes = 16 * 1024;

// INVALID_ARGUMENT naming the first field over its limit, and the limit;
// the message never repeats the field's value, so it is small whatever was
// sent. group_by is bounded by kMaxGroupBy (count_query.h).
absl::Status CheckQueryLimits(const trelink::v1::CountQuery& query);

}  // namespace trelink
