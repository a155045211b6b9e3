// Every table released in a project, cell by cell, so that the release
// audit knows what analysts already hold: after a restart, and after a new
// linkage generation has drawn new linkage ids. Persons are therefore kept
// as stable record identities ("anchors": a person's smallest participant
// key), never as a generation's linkage ids, and never as identifiers.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trelink {

// One cell of a table as the analyst received it.
struct RecordedCell {
  std::vector<uint64_t> anchors;  // sorted; one per person counted in the cell
  bool released = false;          // false: suppressed, so the analyst learnt nothing of its count
  // What the analyst knows of the count: [low, high] (rounding widens it).
  uint64_t low = 0, high = 0;
  std::string definition;  // digest of what the cell counts; equal when a query is asked again
  // A withheld zero that must not be pinned down: the positions, in the
  // same table, of the margins that add it up (empty for any other cell).
  std::vector<uint32_t> covering = {};
};
using RecordedTable = std::vector<RecordedCell>;

class ReleaseHistory {
 public:
  virtual ~ReleaseHistory() = default;
  // Every table of `project`, in release order.
  virtual absl::StatusOr<std::vector<RecordedTable>> Tables(const std::string& project) = 0;
  // Durably, before the table is logged and returned: a table recorded but
  // never received only makes later audits stricter.
  virtual absl::Status Record(const std::string& project, const RecordedTable& table) = 0;
};

// Kept in memory: tests, benchmarks and tools. Thread-safe.
class InMemoryReleaseHistory final : public ReleaseHistory {
 public:
  absl::StatusOr<std::vector<RecordedTable>> Tables(const std::string& project) override;
  absl::Status Record(const std::string& project, const RecordedTable& table) override;
  size_t tables() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<RecordedTable>> tables_;
};

}  // namespace trelink
