// A thin RAII layer over libpq: a connection, parameterised statements,
// result rows read in binary, COPY for bulk loads, and transactions, with
// errors as absl::Status. Statements never carry values in their text:
// every value is a parameter, so nothing needs escaping and no identifier
// or key reaches the server's log through a statement.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/store/transaction.h"

struct pg_conn;
struct pg_result;

namespace trelink {

// The values of a statement's parameters ($1, $2, ...), in order.
class PgParams {
 public:
  PgParams& Int(int64_t value);
  PgParams& Text(absl::string_view value);
  PgParams& Bytes(absl::string_view value);  // bytea, sent as binary
  PgParams& Null();

  int size() const { return static_cast<int>(values_.size()); }

 private:
  friend class PgConnection;
  // What libpq's PQexecParams/PQsendQueryParams take: a pointer per value
  // (null for NULL) and its length.
  std::vector<const char*> Pointers() const;
  std::vector<int> Lengths() const;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;    // 0 text, 1 binary
  std::vector<unsigned> types_; // 0: let the server infer
};

// One row of a result, columns read in libpq's binary format.
class PgRow {
 public:
  PgRow(pg_result* result, int row) : result_(result), row_(row) {}
  bool IsNull(int column) const;
  int64_t Int(int column) const;               // int2, int4 or int8
  absl::string_view Bytes(int column) const;   // bytea or text, raw

 private:
  pg_result* result_;
  int row_;
};

class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult(const PgResult&) = delete;
  ~PgResult();
  int rows() const;
  PgRow row(int r) const { return PgRow(result_, r); }
  // Rows a statement changed (UPDATE, DELETE, INSERT).
  int64_t changed() const;

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  // Connects with a libpq connection string ("host=/run/pg dbname=trelink").
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // A statement with no parameters and no rows wanted (DDL, BEGIN, ...):
  // may hold several statements.
  absl::Status Exec(absl::string_view sql);
  // A statement with parameters; its rows come back in binary.
  absl::StatusOr<PgResult> Query(const std::string& sql, const PgParams& params = PgParams());
  // Streams a query's rows one at a time (a large result is never held
  // whole in memory).
  absl::Status ForEachRow(const std::string& sql, const PgParams& params, const std::function<absl::Status(const PgRow&)>& visit);
  // COPY `table_and_columns` FROM STDIN in text format; `rows` writes the
  // rows through the CopyWriter it is given.
  class CopyWriter;
  absl::Status Copy(const std::string& table_and_columns, const std::function<absl::Status(CopyWriter&)>& rows);

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  absl::Status Configure();
  absl::Status EnsureConnected();
  absl::Status Error(absl::string_view what) const;
  absl::Status Failed(const pg_result* result, absl::string_view what) const;
  pg_conn* conn_;
};

// Builds COPY text-format rows: fields separated by tabs, bytea as hex.
class PgConnection::CopyWriter {
 public:
  CopyWriter& Int(int64_t value);
  CopyWriter& Text(absl::string_view value);
  CopyWriter& Bytes(absl::string_view value);
  CopyWriter& Null();
  // Ends the row; sends the buffer when it is large.
  absl::Status EndRow();

 private:
  friend class PgConnection;
  explicit CopyWriter(pg_conn* conn) : conn_(conn) {}
  void Separate();
  absl::Status Flush();
  pg_conn* conn_;
  std::string buffer_;
  bool row_started_ = false;
};

// Runs `body` in BEGIN ... COMMIT; rolls back if it fails.
template <typename Body>
absl::Status InTransaction(PgConnection& db, Body&& body) {
  return RunInTransaction(db, "BEGIN", std::forward<Body>(body));
}

}  // namespace trelink
