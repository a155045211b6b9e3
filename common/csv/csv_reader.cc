#include "common/csv/csv_reader.h"

#include "absl/strings/str_cat.h"

namespace trelink {

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  int c = in_.get();
  if (first_) {
    first_ = false;
    if (c == 0xEF && in_.peek() == 0xBB) {  // UTF-8 byte-order mark
      in_.get();
      if (in_.get() != 0xBF) return absl::InvalidArgumentError("line 1: malformed byte-order mark");
      c = in_.get();
    }
  }
  if (c == EOF) return false;
  row_line_ = line_;
  std::string field;
  bool quoted = false;
  bool field_was_quoted = false;
  while (true) {
    if (quoted) {
      if (c == EOF) return absl::InvalidArgumentError(absl::StrCat("line ", row_line_, ": unterminated quoted field"));
      if (c == '"') {
        if (in_.peek() == '"') {
          field.push_back('"');
          in_.get();
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(static_cast<char>(c));
      }
    } else if (c == '"' && field.empty() && !field_was_quoted) {
      quoted = true;
      field_was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
    } else if (c == '\n' || c == EOF) {
      if (c == '\n') ++line_;
      if (!field.empty() && field.back() == '\r' && !field_was_quoted) field.pop_back();
      fields.push_back(std::move(field));
      return true;
    } else if (c == '\r' && field_was_quoted) {
      // CR after a closing quote: part of the line end.
    } else if (field_was_quoted) {
      return absl::InvalidArgumentError(absl::StrCat("line ", row_line_, ": text after a closing quote"));
    } else {
      field.push_back(static_cast<char>(c));
    }
    c = in_.get();
  }
}

}  // namespace trelink
