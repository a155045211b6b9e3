// The attacker's side of the disclosure tests: given what was released as
// linear constraints on unknown non-negative integer counts, the exact
// feasible range of a sum of them, by integer programming (GLPK). Tests use
// it on data they built, independently of the release audit's own model.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace trelink::testing {

struct KnownSum {
  std::vector<int> unknowns;  // indexes of the unknowns summed
  int64_t low, high;          // the sum lies in [low, high]
};

// [min, max] of the sum of `target` over every integer assignment that
// satisfies `known`; max is INT64_MAX when unbounded; nullopt when
// infeasible.
std::optional<std::pair<int64_t, int64_t>> IntegerRange(int unknowns, const std::vector<KnownSum>& known,
                                                        const std::vector<int>& target);

}  // namespace trelink::testing
