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

// What an integer search is for: the optimum, or (with `enough`) the first
// point whose objective reaches it.
struct Search {
  bool maximise;
  std::optional<int64_t> enough;
  bool reached = false;
};

void StopSearch(glp_tree* tree, void* info) {
  auto& search = *static_cast<Search*>(info);
  switch (glp_ios_reason(tree)) {
    case GLP_ISELECT: {
      int all = 0;
      glp_ios_tree_size(tree, nullptr, nullptr, &all);
      if (all > kIntegerSearchNodes) glp_ios_terminate(tree);
      break;
    }
    case GLP_IBINGO: {
      if (!search.enough.has_value()) break;
      const auto value = static_cast<int64_t>(std::llround(glp_mip_obj_val(glp_ios_get_prob(tree))));
      if (search.maximise ? value >= *search.enough : value <= *search.enough) {
        search.reached = true;
        glp_ios_terminate(tree);
      }
      break;
    }
    default:
      break;
  }
}

// Builds the program in GLPK. `split`: each deviation is the difference of
// two parts, a rise and a fall, each from zero.
glp_prob* Build(const std::vector<DeviationProgram::Column>& columns, const std::vector<DeviationProgram::Row>& rows,
                bool split) {
  glp_prob* lp = glp_create_prob();
  // GLPK aborts the process on a call it considers invalid, such as adding
  // no rows or columns: every call here is guarded.
  const int width = split ? 2 : 1;
  if (!columns.empty()) glp_add_cols(lp, width * static_cast<int>(columns.size()));
  auto bound = [&](int column, double low, double high) {
    glp_set_col_bnds(lp, column, low == high ? GLP_FX : GLP_DB, low, high);
  };
  for (size_t j = 0; j < columns.size(); ++j) {
    const auto low = static_cast<double>(columns[j].low), high = static_cast<double>(columns[j].high);
    if (split) {
      bound(static_cast<int>(2 * j + 1), 0, high);
      bound(static_cast<int>(2 * j + 2), 0, -low);
    } else {
      bound(static_cast<int>(j + 1), low, high);
      glp_set_col_kind(lp, static_cast<int>(j + 1), GLP_IV);
    }
  }
  if (!rows.empty()) glp_add_rows(lp, static_cast<int>(rows.size()));
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0};
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto low = static_cast<double>(rows[r].low), high = static_cast<double>(rows[r].high);
    glp_set_row_bnds(lp, static_cast<int>(r) + 1, low == high ? GLP_FX : GLP_DB, low, high);
    for (int j : rows[r].columns) {
      for (int part = 0; part < width; ++part) {
        ia.push_back(static_cast<int>(r) + 1);
        ja.push_back(width * j + part + 1);
        ar.push_back(part == 0 ? 1.0 : -1.0);
      }
    }
  }
  if (ia.size() > 1) glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  return lp;
}

// Solves the LP of `lp` for its objective; false if no optimum was found.
bool Simplex(glp_prob* lp, absl::Time deadline) {
  glp_smcp simplex;
  glp_init_smcp(&simplex);
  simplex.msg_lev = GLP_MSG_OFF;
  simplex.tm_lim = Milliseconds(deadline);
  int rc = glp_simplex(lp, &simplex);
  if (rc == GLP_EBADB || rc == GLP_ESING || rc == GLP_ECOND) {
    glp_std_basis(lp);
    rc = glp_simplex(lp, &simplex);
  }
  return rc == 0 && glp_get_status(lp) == GLP_OPT;
}

void SetObjective(glp_prob* lp, const std::vector<int>& objective, bool maximise, bool split) {
  for (int j = 1; j <= glp_get_num_cols(lp); ++j) glp_set_obj_coef(lp, j, 0.0);
  for (int j : objective) {
    if (split) {
      glp_set_obj_coef(lp, 2 * j + 1, 1.0);
      glp_set_obj_coef(lp, 2 * j + 2, -1.0);
    } else {
      glp_set_obj_coef(lp, j + 1, 1.0);
    }
  }
  glp_set_obj_dir(lp, maximise ? GLP_MAX : GLP_MIN);
}

}  // namespace

// The LP is solved with each deviation split into a rise and a fall from
// zero: the simplex then starts at the truth (every part at zero, feasible)
// and its vertices move only the classes they must, so a point found is
// sparse and stays valid through more later releases. The integer search,
// when the vertex is fractional, runs on one integer column per class
// (splitting would double its branching).
DeviationProgram::DeviationProgram(std::vector<Column> columns, std::vector<Row> rows)
    : columns_(std::move(columns)), rows_(std::move(rows)) {
  FoldSingleColumnRows();
  relaxation_ = Build(columns_, rows_, true);
}

// A row over one column is that column's bounds: folded into them, it
// leaves the solver fewer rows and the same feasible points. (Every row
// holds the truth, so the bounds still hold zero.)
void DeviationProgram::FoldSingleColumnRows() {
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(),
                             [&](const Row& row) {
                               if (row.columns.size() != 1) return false;
                               Column& column = columns_[static_cast<size_t>(row.columns[0])];
                               column.low = std::max(column.low, row.low);
                               column.high = std::min(column.high, row.high);
                               return true;
                             }),
              rows_.end());
}

DeviationProgram::~DeviationProgram() {
  glp_delete_prob(relaxation_);
  if (integer_ != nullptr) glp_delete_prob(integer_);
}

std::optional<std::vector<int64_t>> DeviationProgram::Extreme(const std::vector<int>& objective, bool maximise,
                                                              absl::Time deadline, std::optional<int64_t> enough) {
  if (absl::Now() >= deadline || columns_.empty()) return std::nullopt;
  SetObjective(relaxation_, objective, maximise, true);
  if (!Simplex(relaxation_, deadline)) return std::nullopt;
  bool integral = true;
  std::vector<int64_t> point;
  for (size_t j = 0; j < columns_.size(); ++j) {
    const double rise = glp_get_col_prim(relaxation_, static_cast<int>(2 * j + 1));
    const double fall = glp_get_col_prim(relaxation_, static_cast<int>(2 * j + 2));
    integral = integral && std::abs(rise - std::round(rise)) <= 1e-9 && std::abs(fall - std::round(fall)) <= 1e-9;
    point.push_back(std::llround(rise) - std::llround(fall));
  }
  // A vertex at an integer point is the integer optimum too.
  if (integral) return point;
  return IntegerPoint(objective, maximise, enough, deadline);
}

std::optional<std::vector<int64_t>> DeviationProgram::IntegerPoint(const std::vector<int>& objective, bool maximise,
                                                                   std::optional<int64_t> enough, absl::Time deadline) {
  if (integer_ == nullptr) integer_ = Build(columns_, rows_, false);
  SetObjective(integer_, objective, maximise, false);
  // The search starts from the LP optimum of its own columns.
  if (!Simplex(integer_, deadline)) return std::nullopt;
  glp_iocp integer;
  glp_init_iocp(&integer);
  integer.msg_lev = GLP_MSG_OFF;
  integer.tm_lim = Milliseconds(deadline);
  Search search{maximise, enough};
  integer.cb_func = StopSearch;
  integer.cb_info = &search;
  const int rc = glp_intopt(integer_, &integer);
  const bool optimal = rc == 0 && glp_mip_status(integer_) == GLP_OPT;
  const bool good_enough = search.reached && rc == GLP_ESTOP && glp_mip_status(integer_) == GLP_FEAS;
  if (!optimal && !good_enough) return std::nullopt;
  std::vector<int64_t> point;
  for (size_t j = 0; j < columns_.size(); ++j) {
    point.push_back(std::llround(glp_mip_col_val(integer_, static_cast<int>(j + 1))));
  }
  return point;
}

}  // namespace trelink
