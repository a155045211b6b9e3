#include "common/store/sqlite_db.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

// A full disk or a failing device may recover, and the transaction was
// rolled back, so the caller may retry: UNAVAILABLE, not INTERNAL.
absl::Status StoreError(int rc, absl::string_view message) {
  const std::string text = absl::StrCat("store: ", message);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return absl::AlreadyExistsError(text);
    case SQLITE_FULL:
    case SQLITE_IOERR: return absl::UnavailableError(text);
    default: return absl::InternalError(text);
  }
}

}  // namespace

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, absl::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view bytes) {
  // A null pointer would bind NULL rather than an empty blob.
  sqlite3_bind_blob(stmt_, index, bytes.empty() ? "" : bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return StoreError(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_)));
}

absl::Status SqliteStatement::Run() {
  absl::StatusOr<bool> row = Step();
  while (row.ok() && *row) row = Step();
  Reset();
  return row.status();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::string_view SqliteStatement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text == nullptr ? absl::string_view() : absl::string_view(text, sqlite3_column_bytes(stmt_, column));
}

absl::string_view SqliteStatement::Blob(int column) const {
  const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return blob == nullptr ? absl::string_view() : absl::string_view(blob, sqlite3_column_bytes(stmt_, column));
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  // Stores hold linkage ids, match-key hashes and released populations:
  // create them 0600 whatever the umask. SQLite gives the -wal and -shm
  // files the database file's mode. An existing file keeps its mode.
  if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);  // on failure sqlite3_open_v2 below says why
  }
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = handle != nullptr ? sqlite3_errmsg(handle) : "out of memory";
    sqlite3_close(handle);
    return absl::UnavailableError(absl::StrCat("cannot open store ", path, ": ", message));
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(handle));
  sqlite3_busy_timeout(handle, 10000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
                             "PRAGMA cache_size=-262144"}) {
    if (absl::Status s = db->Exec(pragma); !s.ok()) return s;
  }
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

absl::Status SqliteDb::Exec(absl::string_view sql) {
  char* error = nullptr;
  const std::string statement(sql);
  if (const int rc = sqlite3_exec(db_, statement.c_str(), nullptr, nullptr, &error); rc != SQLITE_OK) {
    absl::Status status = StoreError(rc, error != nullptr ? error : "error");
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("store: cannot prepare: ", sqlite3_errmsg(db_)));
  }
  return SqliteStatement(stmt);
}

}  // namespace trelink
