// The populations of every cell already released in a project, for the
// differencing check: a new cell whose population differs from a released
// one by 1..k-1 persons would let those persons' attributes be derived by
// subtraction.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace trelink {

// A population: the sorted, distinct linkage ids of the persons in a cell.
using Population = std::vector<uint64_t>;

class ReleaseHistory {
 public:
  virtual ~ReleaseHistory() = default;
  // True when `population` differs from any released population of
  // `project` by at least 1 and fewer than `threshold` persons.
  virtual bool Differs(const std::string& project, const Population& population, uint32_t threshold) = 0;
  virtual void Record(const std::string& project, const Population& population) = 0;
};

// Kept in memory, indexed by population size so that only populations whose
// sizes differ by less than k are compared. Thread-safe.
class InMemoryReleaseHistory final : public ReleaseHistory {
 public:
  bool Differs(const std::string& project, const Population& population, uint32_t threshold) override;
  void Record(const std::string& project, const Population& population) override { Add(project, population); }
  // Records and says whether the population was new to the project.
  bool Add(const std::string& project, const Population& population);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::multimap<size_t, Population>> released_;
};

// |a Δ b| for sorted populations, stopping early once it reaches `limit`.
uint64_t SymmetricDifference(const Population& a, const Population& b, uint64_t limit);

}  // namespace trelink
