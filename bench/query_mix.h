// The queries the disclosure benchmarks ask: Q1-Q7 as written, then
// randomised variants of them such as an analyst might ask next (another
// range of years, a filter on a groupable attribute, other group_by
// dimensions). Evaluated on the real EventIndex, their populations overlap
// the way real follow-up questions do, which is what the release audit sees.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/aggregate/event_index.h"
#include "trelink/v1/aggregate.pb.h"

namespace trelink {

struct NamedQuery {
  std::string name;  // the file's stem, e.g. "q3b_newborn_proceedings_by_deprivation"
  trelink::v1::CountQuery query;
};

// Every query file of `dir`, sorted by file name, with its project set to
// `project`.
absl::StatusOr<std::vector<NamedQuery>> LoadQueries(const std::string& dir, const std::string& project);

class QueryMix {
 public:
  // `index` must outlive the mix; `seed` makes the variants reproducible.
  QueryMix(std::vector<NamedQuery> templates, const EventIndex& index, uint64_t seed);

  // The templates in order, then random variants of them. A variant may be
  // one EvaluateCount refuses (too many cells): callers draw again.
  trelink::v1::CountQuery Next();

 private:
  trelink::v1::CountQuery Variant();
  void VaryYears(trelink::v1::CountQuery& query);
  void AddFilter(trelink::v1::CountQuery& query);
  void Regroup(trelink::v1::CountQuery& query);
  const trelink::v1::DatasetSpec& DatasetOf(const trelink::v1::CountQuery& query) const;
  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  bool Coin() { return Below(2) == 0; }

  std::vector<NamedQuery> templates_;
  const EventIndex& index_;
  std::mt19937_64 random_;
  size_t asked_ = 0;
};

}  // namespace trelink
