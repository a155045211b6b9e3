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

// Makes every relative path in `message` relative to `base_dir`: each set
// string field whose name ends in `_file`, in the message and every message
// nested in it (repeated and map values too). Absolute paths and an empty
// `base_dir` leave a field as it is.
void ResolveConfigPaths(const std::string& base_dir, google::protobuf::Message& message);

// Reads and parses a service config at `path` and resolves its paths against
// the directory holding it, so a config names the same files whatever the
// working directory of the service (a systemd unit, a container, a test).
absl::Status LoadServiceConfig(const std::string& path, google::protobuf::Message& message);

// Reads a whole (non-secret) file.
absl::Status ReadFileToString(const std::string& path, std::string& contents);

}  // namespace trelink
