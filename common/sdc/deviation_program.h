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

  DeviationProgram(std::vector<Column> columns, std::vector<Row> rows);
  ~DeviationProgram();
  DeviationProgram(const DeviationProgram&) = delete;
  DeviationProgram& operator=(const DeviationProgram&) = delete;

  // An integer point (a deviation per column) at which the sum of the
  // `objective` columns is largest (`maximise`) or smallest - or, given
  // `enough`, any integer point at which it reaches `enough` (at least, or
  // at most), which the search may stop at before the optimum. nullopt
  // when the solver failed or the deadline passed.
  std::optional<std::vector<int64_t>> Extreme(const std::vector<int>& objective, bool maximise, absl::Time deadline,
                                              std::optional<int64_t> enough = std::nullopt);

 private:
  void FoldSingleColumnRows();
  std::optional<std::vector<int64_t>> IntegerPoint(const std::vector<int>& objective, bool maximise,
                                                   std::optional<int64_t> enough, absl::Time deadline);

  std::vector<Column> columns_;
  std::vector<Row> rows_;
  glp_prob* relaxation_ = nullptr;  // each column as a rise and a fall, both from zero
  glp_prob* integer_ = nullptr;     // one integer column per column, built when first needed
};

}  // namespace trelink
