// A streaming RFC 4180 CSV reader: comma separated, double-quoted fields may
// hold commas, quotes ("") and newlines; CRLF or LF line ends; UTF-8 with an
// optional byte-order mark. Errors give the line number, never the content.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trelink {

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}

  // Reads the next row into `fields`. Returns false at end of input.
  absl::StatusOr<bool> Next(std::vector<std::string>& fields);

  // The line on which the last row returned started (1-based).
  size_t row_line() const { return row_line_; }

 private:
  std::istream& in_;
  size_t line_ = 1;
  size_t row_line_ = 0;
  bool first_ = true;
};

}  // namespace trelink
