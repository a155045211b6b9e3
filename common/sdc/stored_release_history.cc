#include "common/sdc/stored_release_history.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<std::unique_ptr<StoredReleaseHistory>> StoredReleaseHistory::Open(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  // A committed record must survive a power cut too: it is what allows a
  // release.
  TRELINK_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  TRELINK_RETURN_IF_ERROR(
      db->Exec("CREATE TABLE IF NOT EXISTS released(project TEXT NOT NULL, size INTEGER NOT NULL, persons BLOB NOT NULL)"));
  std::unique_ptr<StoredReleaseHistory> history(new StoredReleaseHistory(std::move(db)));
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement read, history->db_->Prepare("SELECT project, persons FROM released"));
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    const absl::string_view blob = read.Blob(1);
    if (blob.size() % sizeof(uint64_t) != 0) return absl::DataLossError(absl::StrCat(path, ": damaged release"));
    Population population(blob.size() / sizeof(uint64_t));
    memcpy(population.data(), blob.data(), blob.size());
    history->memory_.Add(std::string(read.Text(0)), population);
  }
  return history;
}

absl::Status StoredReleaseHistory::Store(const std::string& project,
                                         const std::vector<const Population*>& populations) {
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT INTO released VALUES(?,?,?)"));
  return InTransaction(*db_, [&]() -> absl::Status {
    for (const Population* population : populations) {
      insert.Bind(1, project).Bind(2, static_cast<int64_t>(population->size()));
      insert.BindBlob(3, absl::string_view(reinterpret_cast<const char*>(population->data()),
                                           population->size() * sizeof(uint64_t)));
      TRELINK_RETURN_IF_ERROR(insert.Run());
    }
    return absl::OkStatus();
  });
}

absl::Status StoredReleaseHistory::Record(const std::string& project,
                                          const std::vector<const Population*>& populations) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Population*> fresh;
  for (const Population* population : populations) {
    const auto same = [population](const Population* p) { return *p == *population; };
    if (!memory_.Contains(project, *population) && std::none_of(fresh.begin(), fresh.end(), same)) {
      fresh.push_back(population);
    }
  }
  if (fresh.empty()) return absl::OkStatus();
  if (absl::Status stored = Store(project, fresh); !stored.ok()) {
    LogError(absl::StrCat("release history: could not store a table's releases: ", stored.ToString()));
    return absl::UnavailableError("release history: could not store the released populations");
  }
  for (const Population* population : fresh) memory_.Add(project, *population);
  return absl::OkStatus();
}

}  // namespace trelink
