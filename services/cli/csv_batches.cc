#include "services/cli/csv_batches.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/csv/cell_text.h"
#include "common/pseudonym/participant_fields.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<std::unique_ptr<CsvBatchReader>> CsvBatchReader::Open(const std::string& path,
                                                                     const Catalogue& catalogue,
                                                                     const std::string& project,
                                                                     const std::string& dataset, int batch_size,
                                                                     const Clock& clock, std::string extract) {
  if (batch_size <= 0) return absl::InvalidArgumentError("--batch_size must be positive");
  if (extract.empty()) {
    TRELINK_ASSIGN_OR_RETURN(extract, FileDigestLabel(path));
  }
  TRELINK_RETURN_IF_ERROR(ValidateExtractName(extract));
  const trelink::v1::DatasetSpec* spec = catalogue.Find(dataset);
  if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("dataset \"", dataset, "\" is not in the catalogue"));
  std::unique_ptr<CsvBatchReader> reader(new CsvBatchReader(path, project, dataset, batch_size, clock));
  if (!reader->in_) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> header;
  absl::StatusOr<bool> has_header = reader->reader_.Next(header);
  if (!has_header.ok()) return absl::InvalidArgumentError(absl::StrCat(path, " ", has_header.status().message()));
  if (!*has_header) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file, expected a header row"));
  absl::StatusOr<RecordColumns> columns = RecordColumns::Create(header, *spec);
  if (!columns.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", columns.status().message()));
  reader->columns_.emplace(*std::move(columns));
  const auto record_id = std::find(header.begin(), header.end(), "record_id");
  if (record_id != header.end()) reader->record_id_column_ = static_cast<int>(record_id - header.begin());
  reader->header_ = std::move(header);
  reader->extract_ = std::move(extract);
  reader->spec_ = spec;
  reader->catalogue_ = &catalogue;
  return reader;
}

absl::StatusOr<bool> CsvBatchReader::Next(CsvBatch& batch) {
  batch = CsvBatch();
  batch.identifiers.set_project(project_);
  batch.identifiers.set_dataset(dataset_);
  batch.identifiers.set_batch_id(absl::StrFormat("%s:%s:%09d", dataset_, extract_, data_row_));
  std::vector<std::string> row;
  while (batch.identifiers.records_size() < batch_size_) {
    absl::StatusOr<bool> next = reader_.Next(row);
    if (!next.ok()) return absl::InvalidArgumentError(absl::StrCat(path_, " ", next.status().message()));
    if (!*next) break;
    if (row.size() == 1 && row[0].empty()) continue;  // blank line
    if (row.size() != columns_->width()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, " line ", reader_.row_line(), ": ", row.size(),
                                                     " fields, the header has ", columns_->width()));
    }
    ++rows_read_;
    trelink::v1::IdentifierRecord identifiers;
    trelink::v1::ContentRecord content;
    absl::Status valid = ValidateText(row);
    if (valid.ok()) valid = ValidateRecordId(row);
    if (valid.ok()) {
      unreadable_values_ += static_cast<size_t>(columns_->Fill(row, identifiers, content));
      if (record_id_column_ >= 0) identifiers.set_record_id(row[static_cast<size_t>(record_id_column_)]);
      valid = ValidateRow(identifiers, content);
    }
    if (!valid.ok()) {
      if (strict_) {
        return absl::InvalidArgumentError(absl::StrCat(path_, " line ", reader_.row_line(), ": ", valid.message()));
      }
      rejected_.push_back({reader_.row_line(), std::string(valid.message())});
      continue;
    }
    *batch.identifiers.add_records() = std::move(identifiers);
    batch.content.push_back(std::move(content));
    batch.lines.push_back(reader_.row_line());
  }
  data_row_ += static_cast<size_t>(batch.identifiers.records_size());
  return batch.identifiers.records_size() > 0;
}

// Before anything else looks at the cells: normalisation would otherwise
// turn a bad byte into something that passes and protobuf would then refuse
// the whole batch.
absl::Status CsvBatchReader::ValidateText(const std::vector<std::string>& row) const {
  for (size_t c = 0; c < row.size(); ++c) {
    absl::Status text = ValidateCellText(row[c]);
    if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("column ", header_[c], ": ", text.message()));
  }
  return absl::OkStatus();
}

// The provider's reference is how a rejected or disputed record is traced
// back; an empty or repeated one makes that ambiguous.
absl::Status CsvBatchReader::ValidateRecordId(const std::vector<std::string>& row) {
  if (record_id_column_ < 0) return absl::OkStatus();
  const std::string& id = row[static_cast<size_t>(record_id_column_)];
  if (id.empty()) return absl::InvalidArgumentError("column record_id: empty");
  const auto [it, added] = record_id_lines_.emplace(id, reader_.row_line());
  if (!added) return absl::InvalidArgumentError(absl::StrCat("column record_id: repeats line ", it->second));
  return absl::OkStatus();
}

absl::Status CsvBatchReader::ValidateRow(const trelink::v1::IdentifierRecord& identifiers,
                                         const trelink::v1::ContentRecord& content) const {
  if (identifiers.participants().empty()) return absl::InvalidArgumentError("no identifiers");
  // The same checks the pseudonymiser and the linker make, so one bad row
  // does not cost its whole batch.
  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  const DateRange dob_range{absl::CivilDay(1900, 1, 1), today};
  ParticipantFields fields;
  for (const auto& participant : identifiers.participants()) {
    NormalisationNotes notes;
    absl::Status s = fields.Assign(participant.identifiers(), dob_range, notes);
    if (!s.ok()) return NameColumn(participant.role(), s);
  }
  absl::Status s = catalogue_->ValidateContent(*spec_, content);
  if (s.ok()) s = ValidateEventNotFuture(content, today);
  if (s.ok()) s = columns_->ValidateEventAfterBirth(identifiers, content);
  return NameColumn("", s);
}

// The user wrote a CSV, not protobuf: "date_of_birth: ..." of the mother is
// reported as "column mother_dob: ...".
absl::Status CsvBatchReader::NameColumn(const std::string& role, const absl::Status& status) const {
  if (status.ok()) return status;
  const std::string message(status.message());
  const size_t colon = message.find(": ");
  if (colon != std::string::npos) {
    const std::string column = columns_->ColumnOf(role, message.substr(0, colon));
    if (!column.empty()) return absl::InvalidArgumentError(absl::StrCat("column ", column, message.substr(colon)));
  }
  return role.empty() ? status : absl::InvalidArgumentError(absl::StrCat("participant ", role, ": ", message));
}

std::string WithCsvLine(const std::string& message, const std::vector<size_t>& lines, const std::string& csv) {
  const size_t at = message.find("records[");
  if (at == std::string::npos) return message;
  const size_t close = message.find(']', at);
  size_t index = 0;
  if (close == std::string::npos || !absl::SimpleAtoi(message.substr(at + 8, close - at - 8), &index) ||
      index >= lines.size()) {
    return message;
  }
  return absl::StrCat(csv, " line ", lines[index], ": ", message);
}

absl::StatusOr<std::string> FileDigestLabel(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<char> buffer(1 << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(buffer.data()),
                              static_cast<unsigned long long>(in.gcount()));
  }
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  char hex[2 * 8 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, 8);
  return absl::StrCat("sha256-", hex);
}

absl::Status ValidateExtractName(const std::string& extract) {
  const bool valid = !extract.empty() && extract.size() <= 40 && std::all_of(extract.begin(), extract.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
  if (!valid) return absl::InvalidArgumentError("--extract: must be 1-40 characters of [A-Za-z0-9_.-]");
  return absl::OkStatus();
}

}  // namespace trelink
