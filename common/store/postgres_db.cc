#include "common/store/postgres_db.h"

#include <endian.h>
#include <libpq-fe.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// The server's primary message and SQLSTATE, never its DETAIL: a detail
// can quote the values of a row (a duplicate key), and those are keyed
// identifiers.
absl::Status ResultError(const PGresult* result, absl::string_view what) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string message =
      absl::StrCat("store (PostgreSQL): ", what, ": ", primary != nullptr ? primary : "no message", " [",
                   state != nullptr ? state : "?", "]");
  const absl::string_view code = state != nullptr ? state : "";
  if (code == "23505") return absl::AlreadyExistsError(message);
  if (code == "42501") return absl::PermissionDeniedError(message);  // the role may not do this
  if (code.substr(0, 2) == "08" || code.substr(0, 2) == "57") return absl::UnavailableError(message);
  if (code == "53100") return absl::ResourceExhaustedError(message);  // disk full
  if (code == "40001" || code == "40P01") return absl::AbortedError(message);
  return absl::InternalError(message);
}

bool Succeeded(const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE;
}

}  // namespace

PgParams& PgParams::Int(int64_t value) {
  values_.push_back(absl::StrCat(value));
  null_.push_back(false);
  formats_.push_back(0);
  types_.push_back(kInt8Oid);
  return *this;
}

PgParams& PgParams::Text(absl::string_view value) {
  values_.emplace_back(value);
  null_.push_back(false);
  formats_.push_back(0);
  types_.push_back(0);
  return *this;
}

PgParams& PgParams::Bytes(absl::string_view value) {
  values_.emplace_back(value);
  null_.push_back(false);
  formats_.push_back(1);
  types_.push_back(kByteaOid);
  return *this;
}

PgParams& PgParams::Null() {
  values_.emplace_back();
  null_.push_back(true);
  formats_.push_back(0);
  types_.push_back(0);
  return *this;
}

std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> pointers;
  for (size_t i = 0; i < values_.size(); ++i) pointers.push_back(null_[i] ? nullptr : values_[i].data());
  return pointers;
}

std::vector<int> PgParams::Lengths() const {
  std::vector<int> lengths;
  for (const std::string& value : values_) lengths.push_back(static_cast<int>(value.size()));
  return lengths;
}

bool PgRow::IsNull(int column) const { return PQgetisnull(result_, row_, column) != 0; }

int64_t PgRow::Int(int column) const {
  const char* value = PQgetvalue(result_, row_, column);
  switch (PQftype(result_, column)) {
    case kInt2Oid: {
      uint16_t v;
      std::memcpy(&v, value, sizeof v);
      return static_cast<int16_t>(be16toh(v));
    }
    case kInt4Oid: {
      uint32_t v;
      std::memcpy(&v, value, sizeof v);
      return static_cast<int32_t>(be32toh(v));
    }
    default: {
      uint64_t v;
      std::memcpy(&v, value, sizeof v);
      return static_cast<int64_t>(be64toh(v));
    }
  }
}

absl::string_view PgRow::Bytes(int column) const {
  return absl::string_view(PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column)));
}

PgResult::~PgResult() { PQclear(result_); }
int PgResult::rows() const { return PQntuples(result_); }
int64_t PgResult::changed() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_), &n) ? n : 0;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return absl::ResourceExhaustedError("store (PostgreSQL): cannot allocate a connection");
  std::unique_ptr<PgConnection> db(new PgConnection(conn));
  if (PQstatus(conn) != CONNECTION_OK) return db->Error("connect");
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  if (absl::Status s = db->Configure(); !s.ok()) return s;
  return db;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

// Plain values in and out: UTF-8 and UTC.
absl::Status PgConnection::Configure() {
  PGresult* result = PQexec(conn_, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'");
  if (result == nullptr) return Error("configure");
  PgResult owned(result);
  if (!Succeeded(result)) return Failed(result, "configure");
  return absl::OkStatus();
}

// A connection the server dropped (a restart, a failover) is opened again
// before the next statement; the statement that found it dropped has
// already failed UNAVAILABLE, and its transaction with it.
absl::Status PgConnection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return Error("reconnect");
  return Configure();
}

// A statement that failed because the connection is gone is UNAVAILABLE
// (the caller may try again; the next statement reconnects).
absl::Status PgConnection::Failed(const pg_result* result, absl::string_view what) const {
  if (PQstatus(conn_) != CONNECTION_OK) return Error(what);
  return ResultError(result, what);
}

absl::Status PgConnection::Error(absl::string_view what) const {
  // libpq's connection message names the server and the reason, never a
  // row's values.
  std::string message = PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return absl::UnavailableError(absl::StrCat("store (PostgreSQL): ", what, ": ", message));
}

absl::Status PgConnection::Exec(absl::string_view sql) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) return connected;
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  if (result == nullptr) return Error("exec");
  PgResult owned(result);
  if (!Succeeded(result)) return Failed(result, "statement");
  return absl::OkStatus();
}

absl::StatusOr<PgResult> PgConnection::Query(const std::string& sql, const PgParams& params) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) return connected;
  const std::vector<const char*> values = params.Pointers();
  const std::vector<int> lengths = params.Lengths();
  PGresult* result = PQexecParams(conn_, sql.c_str(), params.size(), params.types_.data(), values.data(),
                                  lengths.data(), params.formats_.data(), /*resultFormat=*/1);
  if (result == nullptr) return Error("query");
  PgResult owned(result);
  if (!Succeeded(result)) return Failed(result, "query");
  return owned;
}

absl::Status PgConnection::ForEachRow(const std::string& sql, const PgParams& params,
                                      const std::function<absl::Status(const PgRow&)>& visit) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) return connected;
  const std::vector<const char*> values = params.Pointers();
  const std::vector<int> lengths = params.Lengths();
  if (PQsendQueryParams(conn_, sql.c_str(), params.size(), params.types_.data(), values.data(), lengths.data(),
                        params.formats_.data(), 1) == 0) {
    return Error("query");
  }
  if (PQsetSingleRowMode(conn_) == 0) return Error("single-row mode");
  absl::Status status = absl::OkStatus();
  // Every result is read, even after a failure, so the connection is ready
  // for the next statement.
  while (PGresult* result = PQgetResult(conn_)) {
    PgResult owned(result);
    if (!status.ok()) continue;
    if (PQresultStatus(result) == PGRES_SINGLE_TUPLE) {
      status = visit(PgRow(result, 0));
    } else if (!Succeeded(result)) {
      status = Failed(result, "query");
    }
  }
  return status;
}

absl::Status PgConnection::Copy(const std::string& table_and_columns,
                                const std::function<absl::Status(CopyWriter&)>& rows) {
  if (absl::Status connected = EnsureConnected(); !connected.ok()) return connected;
  if (absl::Status s = [&]() -> absl::Status {
        PGresult* result = PQexec(conn_, absl::StrCat("COPY ", table_and_columns, " FROM STDIN").c_str());
        if (result == nullptr) return Error("copy");
        PgResult owned(result);
        if (PQresultStatus(result) != PGRES_COPY_IN) return Failed(result, "copy");
        return absl::OkStatus();
      }();
      !s.ok()) {
    return s;
  }
  CopyWriter writer(conn_);
  absl::Status status = rows(writer);
  if (status.ok()) status = writer.Flush();
  if (PQputCopyEnd(conn_, status.ok() ? nullptr : "aborted by trelink") != 1) return Error("copy end");
  while (PGresult* result = PQgetResult(conn_)) {
    PgResult owned(result);
    if (status.ok() && !Succeeded(result)) status = Failed(result, "copy");
  }
  return status;
}

void PgConnection::CopyWriter::Separate() {
  if (row_started_) buffer_.push_back('\t');
  row_started_ = true;
}

PgConnection::CopyWriter& PgConnection::CopyWriter::Int(int64_t value) {
  Separate();
  absl::StrAppend(&buffer_, value);
  return *this;
}

PgConnection::CopyWriter& PgConnection::CopyWriter::Text(absl::string_view value) {
  Separate();
  for (char c : value) {
    switch (c) {
      case '\\': buffer_ += "\\\\"; break;
      case '\t': buffer_ += "\\t"; break;
      case '\n': buffer_ += "\\n"; break;
      case '\r': buffer_ += "\\r"; break;
      default: buffer_.push_back(c);
    }
  }
  return *this;
}

PgConnection::CopyWriter& PgConnection::CopyWriter::Bytes(absl::string_view value) {
  Separate();
  static constexpr char kHex[] = "0123456789abcdef";
  buffer_ += "\\\\x";  // bytea's hex form, its backslash escaped for COPY
  for (unsigned char c : value) {
    buffer_.push_back(kHex[c >> 4]);
    buffer_.push_back(kHex[c & 15]);
  }
  return *this;
}

PgConnection::CopyWriter& PgConnection::CopyWriter::Null() {
  Separate();
  buffer_ += "\\N";
  return *this;
}

absl::Status PgConnection::CopyWriter::EndRow() {
  buffer_.push_back('\n');
  row_started_ = false;
  if (buffer_.size() >= (1 << 20)) return Flush();
  return absl::OkStatus();
}

absl::Status PgConnection::CopyWriter::Flush() {
  if (buffer_.empty()) return absl::OkStatus();
  if (PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    return absl::UnavailableError(absl::StrCat("store (PostgreSQL): copy: ", PQerrorMessage(conn_)));
  }
  buffer_.clear();
  return absl::OkStatus();
}

}  // namespace trelink
