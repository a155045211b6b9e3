// Any bytes as a provider's CSV file: the reader must end every input with a
// row count, an error or the end of input, and every row must consume input
// (a reader that returns rows without reading would loop for ever). Each
// field then goes through the cell check that guards protobuf serialisation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "common/csv/cell_text.h"
#include "common/csv/csv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  trelink::CsvReader reader(in);
  std::vector<std::string> fields;
  size_t last_line = 0;
  for (size_t rows = 0; rows <= size; ++rows) {
    absl::StatusOr<bool> next = reader.Next(fields);
    if (!next.ok() || !*next) return 0;
    if (reader.row_line() <= last_line) std::abort();  // rows start on later lines
    last_line = reader.row_line();
    for (const std::string& field : fields) (void)trelink::ValidateCellText(field);
  }
  std::abort();  // more rows than bytes
}
