// The release history kept on disk (SQLite), so the differencing check
// still knows every earlier release after the aggregator restarts. The
// populations are linkage ids, never identifiers; the file belongs with the
// aggregator's state and is as sensitive as the linked store.
#pragma once

#include <memory>
#include <string>

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
  // Adds to memory and, when new, to the file. A write failure is logged;
  // the release itself has already been logged by then.
  void Record(const std::string& project, const Population& population) override;
  size_t size() const { return memory_.size(); }

 private:
  explicit StoredReleaseHistory(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  std::unique_ptr<SqliteDb> db_;
  InMemoryReleaseHistory memory_;
};

}  // namespace trelink
