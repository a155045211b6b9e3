#include "common/sdc/stored_release_history.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

absl::string_view AsBytes(const std::vector<uint64_t>& values) {
  return absl::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(uint64_t));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoredReleaseHistory>> StoredReleaseHistory::Open(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  TRELINK_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS release_tables(id INTEGER PRIMARY KEY, project TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS release_cells(table_id INTEGER NOT NULL REFERENCES release_tables(id),"
      " position INTEGER NOT NULL, released INTEGER NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL,"
      " definition BLOB NOT NULL, anchors BLOB NOT NULL, covering BLOB NOT NULL, PRIMARY KEY(table_id, position));"
      "CREATE INDEX IF NOT EXISTS release_tables_project ON release_tables(project, id);"));
  return std::unique_ptr<StoredReleaseHistory>(new StoredReleaseHistory(std::move(db)));
}

absl::StatusOr<std::vector<RecordedTable>> StoredReleaseHistory::Tables(const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement read,
      db_->Prepare("SELECT c.table_id, c.released, c.low, c.high, c.definition, c.anchors, c.covering "
                   "FROM release_tables t "
                   "JOIN release_cells c ON c.table_id = t.id WHERE t.project = ? ORDER BY c.table_id, c.position"));
  read.Bind(1, project);
  std::vector<RecordedTable> tables;
  int64_t current = -1;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    if (read.Int(0) != current) {
      current = read.Int(0);
      tables.emplace_back();
    }
    RecordedCell cell;
    cell.released = read.Int(1) != 0;
    cell.low = static_cast<uint64_t>(read.Int(2));
    cell.high = static_cast<uint64_t>(read.Int(3));
    cell.definition = std::string(read.Blob(4));
    const absl::string_view anchors = read.Blob(5);
    const absl::string_view covering = read.Blob(6);
    if (anchors.size() % sizeof(uint64_t) != 0 || covering.size() % sizeof(uint32_t) != 0) {
      return absl::DataLossError(absl::StrCat("release history: table ", current, " is damaged"));
    }
    cell.anchors.resize(anchors.size() / sizeof(uint64_t));
    if (!anchors.empty()) memcpy(cell.anchors.data(), anchors.data(), anchors.size());
    cell.covering.resize(covering.size() / sizeof(uint32_t));
    if (!covering.empty()) memcpy(cell.covering.data(), covering.data(), covering.size());
    tables.back().push_back(std::move(cell));
  }
  return tables;
}

absl::Status StoredReleaseHistory::Record(const std::string& project, const RecordedTable& table) {
  absl::Status stored = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement add_table, db_->Prepare("INSERT INTO release_tables(project) VALUES(?)"));
    TRELINK_RETURN_IF_ERROR(add_table.Bind(1, project).Run());
    const int64_t id = sqlite3_last_insert_rowid(db_->handle());
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement add_cell, db_->Prepare("INSERT INTO release_cells VALUES(?,?,?,?,?,?,?,?)"));
    for (size_t i = 0; i < table.size(); ++i) {
      const RecordedCell& cell = table[i];
      add_cell.Bind(1, id).Bind(2, static_cast<int64_t>(i)).Bind(3, int64_t{cell.released});
      add_cell.Bind(4, static_cast<int64_t>(cell.low)).Bind(5, static_cast<int64_t>(cell.high));
      add_cell.BindBlob(6, cell.definition).BindBlob(7, AsBytes(cell.anchors));
      add_cell.BindBlob(8, absl::string_view(reinterpret_cast<const char*>(cell.covering.data()),
                                             cell.covering.size() * sizeof(uint32_t)));
      TRELINK_RETURN_IF_ERROR(add_cell.Run());
    }
    return absl::OkStatus();
  });
  if (stored.ok()) return stored;
  // The cause goes to the service log; the caller refuses the release.
  LogError(absl::StrCat("release history: ", stored.ToString()));
  return absl::UnavailableError("release history: could not store the released table");
}

absl::StatusOr<int64_t> StoredReleaseHistory::TableCount() {
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement count, db_->Prepare("SELECT COUNT(*) FROM release_tables"));
  TRELINK_ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? count.Int(0) : 0;
}

}  // namespace trelink
