// Reads a dataset CSV into batches: the identifier half for the
// pseudonymiser and the content half for the linker, with the CSV line of
// every record so errors can point at it.
#pragma once

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "common/csv/csv_reader.h"
#include "common/csv/record_columns.h"
#include "common/time/clock.h"
#include "trelink/v1/linkage.pb.h"
#include "trelink/v1/pseudonym.pb.h"

namespace trelink {

// A row the reader left out, and why (never the value).
struct RejectedRow {
  size_t line;
  std::string reason;  // "column mother_dob: date is in the future"
};

struct CsvBatch {
  trelink::v1::PseudonymiseBatchRequest identifiers;
  std::vector<trelink::v1::ContentRecord> content;
  std::vector<size_t> lines;
};

class CsvBatchReader {
 public:
  // Opens `path` and checks its header against `dataset` in `catalogue`.
  // `clock` (which must outlive the reader) says what "today" is for dates
  // of birth and events.
  // `extract` names the delivery (say "2026-11"); empty: a digest of the
  // file's bytes, so that the same file always sends the same batch ids and
  // another file never reuses them.
  static absl::StatusOr<std::unique_ptr<CsvBatchReader>> Open(const std::string& path, const Catalogue& catalogue,
                                                              const std::string& project,
                                                              const std::string& dataset, int batch_size,
                                                              const Clock& clock, std::string extract = "");

  // The next batch; false at the end of the file. Batch ids are
  // "<dataset>:<extract>:<index of the first data row>", so a re-run of an
  // extract resends the same ids (the linker takes them as a no-op) and
  // every extract of a dataset gets its own. Each record carries the row's
  // record_id, when the file has the column.
  // Rows whose identifiers or content fail validation (a cell that is not
  // UTF-8 or holds NUL, an event after today or before the date of birth it
  // is measured from, an empty record_id or one already used in the file
  // included) are left out and recorded in rejected();
  // with `strict` the first one is an error instead.
  absl::StatusOr<bool> Next(CsvBatch& batch);

  void set_strict(bool strict) { strict_ = strict; }
  const std::vector<RejectedRow>& rejected() const { return rejected_; }
  const std::string& extract() const { return extract_; }
  size_t rows_read() const { return rows_read_; }
  // Values of invalid_as_missing columns that could not be read and were
  // sent as missing.
  size_t unreadable_values() const { return unreadable_values_; }

 private:
  CsvBatchReader(std::string path, std::string project, std::string dataset, int batch_size, const Clock& clock)
      : path_(std::move(path)), in_(path_, std::ios::binary), reader_(in_), project_(std::move(project)),
        dataset_(std::move(dataset)), batch_size_(batch_size), clock_(clock) {}
  absl::Status ValidateText(const std::vector<std::string>& row) const;
  absl::Status ValidateRecordId(const std::vector<std::string>& row);
  absl::Status ValidateRow(const trelink::v1::IdentifierRecord& identifiers,
                           const trelink::v1::ContentRecord& content) const;
  absl::Status NameColumn(const std::string& role, const absl::Status& status) const;

  std::string path_;
  std::ifstream in_;
  CsvReader reader_;
  std::vector<std::string> header_;
  std::optional<RecordColumns> columns_;
  const trelink::v1::DatasetSpec* spec_ = nullptr;
  const Catalogue* catalogue_ = nullptr;
  bool strict_ = false;
  std::vector<RejectedRow> rejected_;
  size_t rows_read_ = 0;
  size_t unreadable_values_ = 0;
  std::string project_, dataset_, extract_;
  int batch_size_;
  const Clock& clock_;
  size_t data_row_ = 0;
  int record_id_column_ = -1;  // -1: the file has none
  absl::flat_hash_map<std::string, size_t> record_id_lines_;
};

// "sha256-" and the first 16 hex digits of the SHA-256 of the file's bytes.
absl::StatusOr<std::string> FileDigestLabel(const std::string& path);
// An extract name: 1-40 characters of [A-Za-z0-9_.-].
absl::Status ValidateExtractName(const std::string& extract);

// Rewrites "records[N]" in an error as "<csv> line L: ...", using the lines
// of the batch the error is about.
std::string WithCsvLine(const std::string& message, const std::vector<size_t>& lines, const std::string& csv);

}  // namespace trelink
