// Loads configuration written in protobuf text format. Every config in
// trelink (service configs, catalogue, policy, queries) is a message defined
// in proto/, so there is one schema and one parser; errors name the file,
// line and field.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace trelink {

// Parses `text` into `message`. `source` names the text in errors.
absl::Status ParseTextConfig(const std::string& text, const std::string& source,
                             google::protobuf::Message& message);

// Reads and parses the file at `path`.
absl::Status LoadTextConfig(const std::string& path,
                            google::protobuf::Message& message);

// Reads a whole (non-secret) file.
absl::Status ReadFileToString(const std::string& path, std::string& contents);

}  // namespace trelink
