#include "common/linkage/pairwise_quality.h"

#include "absl/container/flat_hash_map.h"

namespace trelink {
namespace {

uint64_t Pairs(uint64_t n) { return n * (n - 1) / 2; }

}  // namespace

PairCounts CountPairs(const std::vector<uint64_t>& predicted, const std::vector<uint64_t>& truth) {
  absl::flat_hash_map<uint64_t, uint64_t> by_predicted, by_truth;
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> by_both;
  for (size_t i = 0; i < predicted.size(); ++i) {
    by_predicted[predicted[i]]++;
    by_truth[truth[i]]++;
    by_both[{predicted[i], truth[i]}]++;
  }
  PairCounts counts;
  for (const auto& [label, n] : by_predicted) counts.predicted += Pairs(n);
  for (const auto& [label, n] : by_truth) counts.actual += Pairs(n);
  for (const auto& [labels, n] : by_both) counts.correct += Pairs(n);
  return counts;
}

}  // namespace trelink
