// A small integer program over how far some class sizes may move from
// their true values while every released cell that counts them stays
// inside what the analyst was told. The release audit builds one per
// protected count, with every class outside it held at its true size: the
// feasible points are then feasible for the analyst too, so an interval
// found here is never wider than the analyst's. GLPK solves it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"

struct glp_prob;

namespace trelink {

class DeviationProgram {
 public:
  struct Column {
    int64_t low;   // -(true size): a class cannot hold fewer than no persons
    int64_t high;  // a cap that keeps the program bounded
  };
  struct Row {
    std::vector<int> columns;  // indexes into the columns, each counted once
    int64_t low, high;         // the sum of their deviations stays within
  };

  DeviationProgram(const std::vector<Column>& columns, const std::vector<Row>& rows);
  ~DeviationProgram();
  DeviationProgram(const DeviationProgram&) = delete;
  DeviationProgram& operator=(const DeviationProgram&) = delete;

  // An integer point (a deviation per column) at which the sum of the
  // `objective` columns is largest (`maximise`) or smallest. nullopt when
  // the solver failed or the deadline passed.
  std::optional<std::vector<int64_t>> Extreme(const std::vector<int>& objective, bool maximise, absl::Time deadline);

 private:
  std::optional<std::vector<int64_t>> IntegerPoint(absl::Time deadline);

  glp_prob* lp_;
  bool integer_columns_ = false;
};

}  // namespace trelink
