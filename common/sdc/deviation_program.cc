#include "common/sdc/deviation_program.h"

#include <glpk.h>

#include <algorithm>
#include <cmath>

#include "absl/time/clock.h"

namespace trelink {
namespace {

int Milliseconds(absl::Time deadline) {
  const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
  return static_cast<int>(std::clamp<int64_t>(left, 1, INT32_MAX));
}

// A point that needs a long search is not worth it: the count is then
// treated as at risk, which is the safe side. The search is bounded by
// nodes, not time, so that the audit decides the same on any machine.
constexpr int kIntegerSearchNodes = 500;

void StopLongSearches(glp_tree* tree, void*) {
  if (glp_ios_reason(tree) == GLP_ISELECT) {
    int active = 0, all = 0;
    glp_ios_tree_size(tree, &active, nullptr, &all);
    if (all > kIntegerSearchNodes) glp_ios_terminate(tree);
  }
}

}  // namespace

DeviationProgram::DeviationProgram(const std::vector<Column>& columns, const std::vector<Row>& rows)
    : lp_(glp_create_prob()) {
  // GLPK aborts the process on a call it considers invalid, such as adding
  // no rows or columns: every call here is guarded.
  if (!columns.empty()) glp_add_cols(lp_, static_cast<int>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) {
    const auto low = static_cast<double>(columns[j].low), high = static_cast<double>(columns[j].high);
    glp_set_col_bnds(lp_, static_cast<int>(j) + 1, low == high ? GLP_FX : GLP_DB, low, high);
  }
  if (!rows.empty()) glp_add_rows(lp_, static_cast<int>(rows.size()));
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0};
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto low = static_cast<double>(rows[r].low), high = static_cast<double>(rows[r].high);
    glp_set_row_bnds(lp_, static_cast<int>(r) + 1, low == high ? GLP_FX : GLP_DB, low, high);
    for (int j : rows[r].columns) {
      ia.push_back(static_cast<int>(r) + 1);
      ja.push_back(j + 1);
      ar.push_back(1.0);
    }
  }
  if (ia.size() > 1) glp_load_matrix(lp_, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
}

DeviationProgram::~DeviationProgram() { glp_delete_prob(lp_); }

std::optional<std::vector<int64_t>> DeviationProgram::Extreme(const std::vector<int>& objective, bool maximise,
                                                              absl::Time deadline) {
  if (absl::Now() >= deadline || glp_get_num_cols(lp_) == 0) return std::nullopt;
  for (int j = 1; j <= glp_get_num_cols(lp_); ++j) glp_set_obj_coef(lp_, j, 0.0);
  for (int j : objective) glp_set_obj_coef(lp_, j + 1, 1.0);
  glp_set_obj_dir(lp_, maximise ? GLP_MAX : GLP_MIN);
  glp_smcp simplex;
  glp_init_smcp(&simplex);
  simplex.msg_lev = GLP_MSG_OFF;
  simplex.tm_lim = Milliseconds(deadline);
  int rc = glp_simplex(lp_, &simplex);
  if (rc == GLP_EBADB || rc == GLP_ESING || rc == GLP_ECOND) {
    glp_std_basis(lp_);
    rc = glp_simplex(lp_, &simplex);
  }
  if (rc != 0 || glp_get_status(lp_) != GLP_OPT) return std::nullopt;
  std::vector<int64_t> point;
  bool integral = true;
  for (int j = 1; j <= glp_get_num_cols(lp_); ++j) {
    const double x = glp_get_col_prim(lp_, j);
    integral = integral && std::abs(x - std::round(x)) <= 1e-9;
    point.push_back(static_cast<int64_t>(std::llround(x)));
  }
  // A vertex at an integer point is the integer optimum too.
  if (integral) return point;
  return IntegerPoint(deadline);
}

std::optional<std::vector<int64_t>> DeviationProgram::IntegerPoint(absl::Time deadline) {
  if (!integer_columns_) {
    for (int j = 1; j <= glp_get_num_cols(lp_); ++j) glp_set_col_kind(lp_, j, GLP_IV);
    integer_columns_ = true;
  }
  glp_iocp integer;
  glp_init_iocp(&integer);
  integer.msg_lev = GLP_MSG_OFF;
  integer.tm_lim = Milliseconds(deadline);
  integer.cb_func = StopLongSearches;
  if (glp_intopt(lp_, &integer) != 0 || glp_mip_status(lp_) != GLP_OPT) return std::nullopt;
  std::vector<int64_t> point;
  for (int j = 1; j <= glp_get_num_cols(lp_); ++j) point.push_back(static_cast<int64_t>(std::llround(glp_mip_col_val(lp_, j))));
  return point;
}

}  // namespace trelink
