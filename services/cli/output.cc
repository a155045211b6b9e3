#include "services/cli/output.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace trelink {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name == "text") return OutputFormat::kText;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("--format: \"", name, "\" is not text, csv or json"));
}

OutputValue OutputValue::Bool(bool b) {
  OutputValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}
OutputValue OutputValue::Integer(int64_t i) {
  OutputValue v;
  v.kind_ = Kind::kInteger;
  v.integer_ = i;
  return v;
}
OutputValue OutputValue::Unsigned(uint64_t u) {
  OutputValue v;
  v.kind_ = Kind::kUnsigned;
  v.unsigned_ = u;
  return v;
}
OutputValue OutputValue::Double(double d) {
  OutputValue v;
  v.kind_ = std::isfinite(d) ? Kind::kDouble : Kind::kNull;  // JSON has no NaN or infinity
  v.double_ = d;
  return v;
}
OutputValue OutputValue::String(std::string s) {
  OutputValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::move(s);
  return v;
}
OutputValue OutputValue::Object() {
  OutputValue v;
  v.kind_ = Kind::kObject;
  return v;
}
OutputValue OutputValue::List() {
  OutputValue v;
  v.kind_ = Kind::kList;
  return v;
}

OutputValue& OutputValue::Add(std::string name, OutputValue value) {
  fields_.emplace_back(std::move(name), std::move(value));
  return *this;
}

OutputValue& OutputValue::Append(OutputValue value) {
  items_.push_back(std::move(value));
  return *this;
}

const OutputValue* OutputValue::Find(absl::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (field == name) return &value;
  }
  return nullptr;
}

std::string OutputValue::ScalarText() const {
  switch (kind_) {
    case Kind::kBool: return bool_ ? "true" : "false";
    case Kind::kInteger: return absl::StrCat(integer_);
    case Kind::kUnsigned: return absl::StrCat(unsigned_);
    case Kind::kDouble: {
      // The shortest of 15 or 17 digits that reads back as the same double.
      std::string text = absl::StrFormat("%.15g", double_);
      double back = 0;
      if (!absl::SimpleAtod(text, &back) || back != double_) text = absl::StrFormat("%.17g", double_);
      return text;
    }
    case Kind::kString: return string_;
    default: return "";
  }
}

namespace {

OutputValue ScalarField(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return OutputValue::Integer(repeated ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return OutputValue::Integer(repeated ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return OutputValue::Unsigned(repeated ? r->GetRepeatedUInt32(message, field, index)
                                            : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return OutputValue::Unsigned(repeated ? r->GetRepeatedUInt64(message, field, index)
                                            : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return OutputValue::Double(repeated ? r->GetRepeatedDouble(message, field, index)
                                          : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return OutputValue::Double(repeated ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return OutputValue::Bool(repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field));
    case FieldDescriptor::CPPTYPE_ENUM:
      return OutputValue::String(
          (repeated ? r->GetRepeatedEnum(message, field, index) : r->GetEnum(message, field))->name());
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = repeated ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
      return OutputValue::String(field->type() == FieldDescriptor::TYPE_BYTES ? absl::BytesToHexString(s)
                                                                              : std::move(s));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return FromMessage(repeated ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field));
  }
  return OutputValue();
}

// A count under the disclosure threshold shows only that it was withheld.
OutputValue ReportCountValue(const Message& message) {
  const Reflection* r = message.GetReflection();
  const auto* d = message.GetDescriptor();
  const bool suppressed = r->GetBool(message, d->FindFieldByName("suppressed"));
  return OutputValue::Object()
      .Add("value", suppressed ? OutputValue() : OutputValue::Unsigned(r->GetUInt64(message, d->FindFieldByName("value"))))
      .Add("status", OutputValue::String(suppressed ? "suppressed" : "released"));
}

}  // namespace

OutputValue FromMessage(const Message& message) {
  const auto* descriptor = message.GetDescriptor();
  if (descriptor->full_name() == "trelink.v1.ReportCount") return ReportCountValue(message);
  // A withheld cell's count is 0 on the wire; it is not a zero.
  bool withheld_cell = false;
  if (descriptor->full_name() == "trelink.v1.Cell") {
    const auto status = static_cast<const trelink::v1::Cell&>(message).status();
    withheld_cell = status != trelink::v1::RELEASED && status != trelink::v1::ROUNDED;
  }
  const Reflection* r = message.GetReflection();
  OutputValue object = OutputValue::Object();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) {
      OutputValue list = OutputValue::List();
      for (int j = 0; j < r->FieldSize(message, field); ++j) list.Append(ScalarField(message, field, j));
      object.Add(field->name(), std::move(list));
    } else if (withheld_cell && field->name() == "count") {
      object.Add(field->name(), OutputValue());
    } else if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || r->HasField(message, field)) {
      object.Add(field->name(), ScalarField(message, field, 0));
    }
  }
  return object;
}

namespace {

void AppendJsonString(absl::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void AppendJson(const OutputValue& value, std::string& out) {
  switch (value.kind()) {
    case OutputValue::Kind::kNull: out += "null"; return;
    case OutputValue::Kind::kString: AppendJsonString(value.ScalarText(), out); return;
    case OutputValue::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [name, field] : value.fields()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(name, out);
        out += ':';
        AppendJson(field, out);
      }
      out += '}';
      return;
    }
    case OutputValue::Kind::kList: {
      out += '[';
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (i > 0) out += ',';
        AppendJson(value.items()[i], out);
      }
      out += ']';
      return;
    }
    default: out += value.ScalarText(); return;
  }
}

void AppendRows(const OutputValue& value, const std::string& path, std::string& out) {
  if (value.kind() == OutputValue::Kind::kObject) {
    for (const auto& [name, field] : value.fields()) {
      AppendRows(field, path.empty() ? name : absl::StrCat(path, ".", name), out);
    }
    return;
  }
  if (value.kind() == OutputValue::Kind::kList) {
    for (size_t i = 0; i < value.items().size(); ++i) AppendRows(value.items()[i], absl::StrCat(path, ".", i), out);
    return;
  }
  absl::StrAppend(&out, CsvField(path), ",", CsvField(value.ScalarText()), "\r\n");
}

}  // namespace

std::string ToJson(const OutputValue& value) {
  std::string out;
  AppendJson(value, out);
  return out;
}

std::string CsvField(absl::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != absl::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string ToFieldValueCsv(const OutputValue& value) {
  std::string out = "field,value\r\n";
  AppendRows(value, "", out);
  return out;
}

std::string CountTableCsv(const trelink::v1::CountTable& table) {
  std::vector<std::string> header = {"generation", "policy_version", "log_index"};
  for (const std::string& d : table.dimensions()) header.push_back(CsvField(d));
  header.push_back("count");
  header.push_back("status");
  std::string out = absl::StrCat(absl::StrJoin(header, ","), "\r\n");
  const std::string leading =
      absl::StrCat(table.generation(), ",", CsvField(table.policy_version()), ",", table.log_index());
  for (const auto& cell : table.cells()) {
    const bool shown = cell.status() == trelink::v1::RELEASED || cell.status() == trelink::v1::ROUNDED;
    absl::StrAppend(&out, leading);
    for (const std::string& v : cell.values()) absl::StrAppend(&out, ",", CsvField(v));
    absl::StrAppend(&out, ",", shown ? absl::StrCat(cell.count()) : "", ",",
                    trelink::v1::CellStatus_Name(cell.status()), "\r\n");
  }
  return out;
}

void PrintStructured(const OutputValue& value, OutputFormat format) {
  const std::string text = format == OutputFormat::kJson ? ToJson(value) + "\n" : ToFieldValueCsv(value);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace trelink
