#include "common/config/text_config.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"

namespace trelink {
namespace {

class CollectingErrors final : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(std::string source) : source_(std::move(source)) {}

  void AddError(int line, int column, const std::string& message) override {
    // The parser counts from zero; editors count from one.
    errors_.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1,
                                   ": ", message));
  }
  void AddWarning(int, int, const std::string&) override {}

  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ParseTextConfig(const std::string& text, const std::string& source,
                             google::protobuf::Message& message) {
  google::protobuf::TextFormat::Parser parser;
  CollectingErrors errors(source);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", message.GetDescriptor()->name(), ": ",
                     errors.Joined()));
  }
  return absl::OkStatus();
}

absl::Status ReadFileToString(const std::string& path, std::string& contents) {
  // An ifstream opens a directory and reads nothing, so a directory passed
  // as a config would parse as an empty config and fail on its first
  // required field instead of on the path.
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  contents = buffer.str();
  return absl::OkStatus();
}

absl::Status LoadTextConfig(const std::string& path,
                            google::protobuf::Message& message) {
  std::string text;
  if (absl::Status read = ReadFileToString(path, text); !read.ok()) return read;
  return ParseTextConfig(text, path, message);
}

void ResolveConfigPaths(const std::string& base_dir, google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          ResolveConfigPaths(base_dir, *reflection->MutableRepeatedMessage(&message, field, i));
        }
      } else {
        ResolveConfigPaths(base_dir, *reflection->MutableMessage(&message, field));
      }
      continue;
    }
    if (base_dir.empty() || field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
        !absl::EndsWith(field->name(), "_file")) {
      continue;
    }
    const std::filesystem::path value(reflection->GetString(message, field));
    if (value.empty() || value.is_absolute()) continue;
    reflection->SetString(&message, field, (std::filesystem::path(base_dir) / value).lexically_normal().string());
  }
}

absl::Status LoadServiceConfig(const std::string& path, google::protobuf::Message& message) {
  if (absl::Status loaded = LoadTextConfig(path, message); !loaded.ok()) return loaded;
  ResolveConfigPaths(std::filesystem::path(path).parent_path().string(), message);
  return absl::OkStatus();
}

}  // namespace trelink
