// The attacker's side of the disclosure tests: given what was released as
// linear constraints on unknown non-negative integer counts, the exact
// feasible range of a sum of them, by integer programming (GLPK). Tests use
// it on data they built, independently of the release audit's own model.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace trelink::testing {

struct KnownSum {
  std::vector<int> unknowns;  // indexes of the unknowns summed
  int64_t low, high;          // the sum lies in [low, high]
};

// What an analyst knows of a count released rounded half up to `base`.
inline KnownSum Rounded(std::vector<int> unknowns, uint64_t released, uint32_t base = 5) {
  const int64_t r = static_cast<int64_t>(released);
  return {std::move(unknowns), std::max<int64_t>(0, r - base / 2), r + (base - 1 - base / 2)};
}

// [min, max] of the sum of `target` over every integer assignment that
// satisfies `known`; max is INT64_MAX when unbounded; nullopt when
// infeasible.
std::optional<std::pair<int64_t, int64_t>> IntegerRange(int unknowns, const std::vector<KnownSum>& known,
                                                        const std::vector<int>& target);

}  // namespace trelink::testing
