#include "common/sdc/release_history.h"

#include <algorithm>

namespace trelink {

uint64_t SymmetricDifference(const Population& a, const Population& b, uint64_t limit) {
  uint64_t difference = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size() && difference < limit) {
    if (a[i] == b[j]) {
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
      ++difference;
    } else {
      ++j;
      ++difference;
    }
  }
  return difference + (a.size() - i) + (b.size() - j);
}

bool InMemoryReleaseHistory::Differs(const std::string& project, const Population& population, uint32_t threshold) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = released_.find(project);
  if (it == released_.end()) return false;
  const size_t low = population.size() >= threshold ? population.size() - threshold + 1 : 0;
  const size_t high = population.size() + threshold - 1;
  for (auto r = it->second.lower_bound(low); r != it->second.end() && r->first <= high; ++r) {
    const uint64_t difference = SymmetricDifference(population, r->second, threshold);
    if (difference >= 1 && difference < threshold) return true;
  }
  return false;
}

bool InMemoryReleaseHistory::Holds(const Released& released, const Population& population) {
  auto range = released.equal_range(population.size());
  for (auto r = range.first; r != range.second; ++r) {
    if (r->second == population) return true;
  }
  return false;
}

bool InMemoryReleaseHistory::Add(const std::string& project, const Population& population) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& released = released_[project];
  if (Holds(released, population)) return false;  // the same population again
  released.emplace(population.size(), population);
  return true;
}

bool InMemoryReleaseHistory::Contains(const std::string& project, const Population& population) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = released_.find(project);
  return it != released_.end() && Holds(it->second, population);
}

absl::Status InMemoryReleaseHistory::Record(const std::string& project,
                                            const std::vector<const Population*>& populations) {
  for (const Population* population : populations) Add(project, *population);
  return absl::OkStatus();
}

size_t InMemoryReleaseHistory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [project, released] : released_) n += released.size();
  return n;
}

}  // namespace trelink
