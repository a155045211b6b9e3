// What a CSV cell must be before it may leave the provider in a protobuf
// string field: valid UTF-8, because protobuf will not carry anything else
// (a batch holding one bad byte failed to serialise and was lost), and free
// of NUL, which C-string consumers downstream would silently cut short.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trelink {

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// INVALID_ARGUMENT "not valid UTF-8" or "contains a NUL byte"; the message
// never quotes the text, which may be an identifier.
absl::Status ValidateCellText(absl::string_view text);

}  // namespace trelink
