// The release history kept on disk (SQLite), so the release audit still
// knows every earlier release after the aggregator restarts and after
// re-linkage. Persons are stable record identities, never identifiers; the
// file belongs with the aggregator's state and is as sensitive as the
// linked store (mode 0600).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/sdc/release_history.h"
#include "common/store/sqlite_db.h"

namespace trelink {

class StoredReleaseHistory final : public ReleaseHistory {
 public:
  // Opens (creating) the history at `path`.
  static absl::StatusOr<std::unique_ptr<StoredReleaseHistory>> Open(const std::string& path);

  absl::StatusOr<std::vector<RecordedTable>> Tables(const std::string& project) override;
  // The whole table in one transaction, or nothing.
  absl::Status Record(const std::string& project, const RecordedTable& table) override;
  absl::StatusOr<int64_t> TableCount();

 private:
  explicit StoredReleaseHistory(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace trelink
