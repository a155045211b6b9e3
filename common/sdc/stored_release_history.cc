#include "common/sdc/stored_release_history.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<std::unique_ptr<StoredReleaseHistory>> StoredReleaseHistory::Open(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
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

void StoredReleaseHistory::Record(const std::string& project, const Population& population) {
  if (!memory_.Add(project, population)) return;
  absl::StatusOr<SqliteStatement> insert = db_->Prepare("INSERT INTO released VALUES(?,?,?)");
  absl::Status status = insert.status();
  if (status.ok()) {
    insert->Bind(1, project).Bind(2, static_cast<int64_t>(population.size()));
    insert->BindBlob(2 + 1, absl::string_view(reinterpret_cast<const char*>(population.data()),
                                               population.size() * sizeof(uint64_t)));
    status = insert->Run();
  }
  if (!status.ok()) LogError(absl::StrCat("release history: could not store a release: ", status.ToString()));
}

}  // namespace trelink
