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

#include "absl/status/status.h"

namespace trelink {

// A population: the sorted, distinct linkage ids of the persons in a cell.
using Population = std::vector<uint64_t>;

class ReleaseHistory {
 public:
  virtual ~ReleaseHistory() = default;
  // True when `population` differs from any released population of
  // `project` by at least 1 and fewer than `threshold` persons.
  virtual bool Differs(const std::string& project, const Population& population, uint32_t threshold) = 0;
  // Remembers the populations of one table as released in `project`, all of
  // them or none. An error means none is remembered, and the table must not
  // be released: a release the history forgets escapes later differencing.
  virtual absl::Status Record(const std::string& project, const std::vector<const Population*>& populations) = 0;
};

// Kept in memory, indexed by population size so that only populations whose
// sizes differ by less than k are compared. Thread-safe.
class InMemoryReleaseHistory final : public ReleaseHistory {
 public:
  bool Differs(const std::string& project, const Population& population, uint32_t threshold) override;
  absl::Status Record(const std::string& project, const std::vector<const Population*>& populations) override;
  // Records and says whether the population was new to the project.
  bool Add(const std::string& project, const Population& population);
  bool Contains(const std::string& project, const Population& population) const;
  size_t size() const;

 private:
  using Released = std::multimap<size_t, Population>;
  static bool Holds(const Released& released, const Population& population);
  mutable std::mutex mu_;
  std::map<std::string, Released> released_;
};

// |a Δ b| for sorted populations, stopping early once it reaches `limit`.
uint64_t SymmetricDifference(const Population& a, const Population& b, uint64_t limit);

}  // namespace trelink
