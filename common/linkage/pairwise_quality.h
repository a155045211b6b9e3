// Pairwise linkage quality against ground truth: every pair of participants
// placed in one set is a predicted match; a true match is a pair with the
// same true person.
#pragma once

#include <cstdint>
#include <vector>

namespace trelink {

struct PairCounts {
  uint64_t predicted = 0;  // pairs within predicted sets
  uint64_t actual = 0;     // pairs within true persons
  uint64_t correct = 0;    // pairs in both
  double precision() const { return predicted == 0 ? 1.0 : static_cast<double>(correct) / predicted; }
  double recall() const { return actual == 0 ? 1.0 : static_cast<double>(correct) / actual; }
};

// `predicted[i]` and `truth[i]` label participant i.
PairCounts CountPairs(const std::vector<uint64_t>& predicted, const std::vector<uint64_t>& truth);

}  // namespace trelink
