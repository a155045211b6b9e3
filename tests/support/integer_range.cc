#include "tests/support/integer_range.h"

#include <glpk.h>

#include <cmath>

namespace trelink::testing {
namespace {

std::optional<int64_t> Solve(glp_prob* lp, int direction, bool& unbounded) {
  glp_set_obj_dir(lp, direction);
  glp_smcp simplex;
  glp_init_smcp(&simplex);
  simplex.msg_lev = GLP_MSG_OFF;
  if (glp_simplex(lp, &simplex) != 0) return std::nullopt;
  if (glp_get_status(lp) == GLP_UNBND) {
    unbounded = true;
    return INT64_MAX;
  }
  if (glp_get_status(lp) != GLP_OPT) return std::nullopt;
  glp_iocp integer;
  glp_init_iocp(&integer);
  integer.msg_lev = GLP_MSG_OFF;
  if (glp_intopt(lp, &integer) != 0 || glp_mip_status(lp) != GLP_OPT) return std::nullopt;
  return static_cast<int64_t>(std::llround(glp_mip_obj_val(lp)));
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> IntegerRange(int unknowns, const std::vector<KnownSum>& known,
                                                        const std::vector<int>& target) {
  glp_term_out(GLP_OFF);
  glp_prob* lp = glp_create_prob();
  glp_add_cols(lp, unknowns);
  for (int j = 1; j <= unknowns; ++j) {
    glp_set_col_bnds(lp, j, GLP_LO, 0, 0);
    glp_set_col_kind(lp, j, GLP_IV);
  }
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0};
  if (!known.empty()) glp_add_rows(lp, static_cast<int>(known.size()));
  for (size_t r = 0; r < known.size(); ++r) {
    const int row = static_cast<int>(r) + 1;
    const KnownSum& sum = known[r];
    glp_set_row_bnds(lp, row, sum.low == sum.high ? GLP_FX : GLP_DB, static_cast<double>(sum.low),
                     static_cast<double>(sum.high));
    for (int u : sum.unknowns) {
      ia.push_back(row);
      ja.push_back(u + 1);
      ar.push_back(1);
    }
  }
  glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  for (int u : target) glp_set_obj_coef(lp, u + 1, 1);
  bool unbounded = false;
  std::optional<int64_t> low = Solve(lp, GLP_MIN, unbounded);
  std::optional<int64_t> high = Solve(lp, GLP_MAX, unbounded);
  glp_delete_prob(lp);
  glp_free_env();
  if (!low.has_value() || !high.has_value()) return std::nullopt;
  return std::make_pair(*low, *high);
}

}  // namespace trelink::testing
