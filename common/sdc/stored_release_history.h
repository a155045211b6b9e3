// The release history kept on disk (SQLite), so the differencing check
// still knows every earlier release after the aggregator restarts. A table's
// populations are committed and fsync'd in one transaction before the table
// may be logged and released; if that fails, neither the file nor memory
// holds any of them. The populations are linkage ids, never identifiers; the
// file belongs with the aggregator's state and is as sensitive as the
// linked store.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sdc/release_history.h"
#include "common/store/sqlite_db.h"

namespace trelink {

class StoredReleaseHistory final : public ReleaseHistory {
 public:
  // Opens (creating) the history at `path` and loads every release.
  static absl::StatusOr<std::unique_ptr<StoredReleaseHistory>> Open(const std::string& path);

  bool Differs(const std::string& project, const Population& population, uint32_t threshold) override {
    return memory_.Differs(project, population, threshold);
  }
  // Stores the populations new to the project, then adds them to memory.
  // UNAVAILABLE when the file cannot take them (a full disk, an I/O error).
  absl::Status Record(const std::string& project, const std::vector<const Population*>& populations) override;
  size_t size() const { return memory_.size(); }

 private:
  explicit StoredReleaseHistory(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Store(const std::string& project, const std::vector<const Population*>& populations);
  std::mutex mu_;  // one Record at a time: memory follows the file
  std::unique_ptr<SqliteDb> db_;
  InMemoryReleaseHistory memory_;
};

}  // namespace trelink
