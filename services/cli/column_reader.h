// Reads one named column of a CSV (other columns are ignored), in chunks,
// for lists such as record ids to withdraw or NHS numbers that opted out.
#pragma once

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/csv/csv_reader.h"
#include "common/status/status_macros.h"

namespace trelink {

class ColumnReader {
 public:
  static absl::StatusOr<std::unique_ptr<ColumnReader>> Open(const std::string& path, const std::string& column) {
    std::unique_ptr<ColumnReader> reader(new ColumnReader(path, column));
    if (!reader->in_) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    std::vector<std::string> header;
    TRELINK_ASSIGN_OR_RETURN(bool has_header, reader->csv_.Next(header));
    const auto found = std::find(header.begin(), header.end(), column);
    if (!has_header || found == header.end()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no ", column, " column in the header"));
    }
    reader->index_ = static_cast<size_t>(found - header.begin());
    reader->width_ = header.size();
    return reader;
  }

  // Up to `count` more values; an empty value or a short row is an error
  // naming its line (never the value).
  absl::StatusOr<std::vector<std::string>> Next(size_t count) {
    std::vector<std::string> values, row;
    while (values.size() < count) {
      TRELINK_ASSIGN_OR_RETURN(bool more, csv_.Next(row));
      if (!more) break;
      if (row.size() == 1 && row[0].empty()) continue;
      if (row.size() != width_ || row[index_].empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path_, " line ", csv_.row_line(), ": column ", column_, ": missing"));
      }
      values.push_back(std::move(row[index_]));
    }
    return values;
  }

 private:
  ColumnReader(std::string path, std::string column)
      : path_(std::move(path)), column_(std::move(column)), in_(path_, std::ios::binary), csv_(in_) {}
  std::string path_, column_;
  std::ifstream in_;
  CsvReader csv_;
  size_t index_ = 0, width_ = 0;
};

}  // namespace trelink
