// What trelink-cli prints for a result, in the format the user asked for:
// aligned text (each command's own), JSON whose numbers are numbers, or
// RFC 4180 CSV. A result is first an OutputValue tree (from a response
// message by reflection, or built by the command), so JSON and CSV come out
// the same for every command.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "trelink/v1/aggregate.pb.h"

namespace trelink {

enum class OutputFormat { kText, kCsv, kJson };

// "text", "csv" or "json"; anything else is INVALID_ARGUMENT naming --format.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);

// A JSON-like value whose object fields keep their order.
class OutputValue {
 public:
  enum class Kind { kNull, kBool, kInteger, kUnsigned, kDouble, kString, kObject, kList };

  OutputValue() = default;  // null
  static OutputValue Bool(bool b);
  static OutputValue Integer(int64_t i);
  static OutputValue Unsigned(uint64_t u);
  static OutputValue Double(double d);
  static OutputValue String(std::string s);
  static OutputValue Object();
  static OutputValue List();

  // Object: appends a field (names are not checked for repeats).
  OutputValue& Add(std::string name, OutputValue value);
  // List: appends an item.
  OutputValue& Append(OutputValue value);

  Kind kind() const { return kind_; }
  const std::vector<std::pair<std::string, OutputValue>>& fields() const { return fields_; }
  const std::vector<OutputValue>& items() const { return items_; }
  // The field named `name` of an object, or nullptr.
  const OutputValue* Find(absl::string_view name) const;
  // A scalar as CSV/text shows it: numbers in full, null as "".
  std::string ScalarText() const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t integer_ = 0;
  uint64_t unsigned_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<std::pair<std::string, OutputValue>> fields_;
  std::vector<OutputValue> items_;
};

// A response message as a value: fields by their proto names, in
// declaration order; every scalar (zero included), set sub-messages, enums
// by name, bytes as hex. A trelink.v1.ReportCount becomes
// {"value": N or null, "status": "released" | "suppressed"}, and a
// trelink.v1.Cell that is not released or rounded has "count": null.
OutputValue FromMessage(const google::protobuf::Message& message);

// Compact JSON on one line.
std::string ToJson(const OutputValue& value);

// One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (or
// starts or ends with a space), with quotes doubled.
std::string CsvField(absl::string_view text);

// Any value as two-column CSV, "field,value", one row per scalar, named by
// its path ("passes.2.participants_in.value"); a header row first.
std::string ToFieldValueCsv(const OutputValue& value);

// A count table as CSV: a header row, then a row per cell whose leading
// columns carry the table's linkage generation, policy version and
// disclosure-log index, then the dimensions, the count (empty when
// withheld) and the cell status.
std::string CountTableCsv(const trelink::v1::CountTable& table);

// Prints `value` to stdout as JSON or field/value CSV (not for kText).
void PrintStructured(const OutputValue& value, OutputFormat format);

}  // namespace trelink
