// Files holding secret keys. A secret file must be a regular file readable by
// its owner only (mode 0600 or stricter); anything looser is refused, since a
// key that others could read must be treated as leaked. Contents are read
// straight into guarded memory.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"

namespace trelink {

// Reads the whole file at `path` into guarded memory after checking its mode.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path);

// Creates `path` with mode 0600 and writes `contents`. Refuses to overwrite an
// existing file unless `replace` is set (then it writes a temporary file and
// renames it over the old one).
absl::Status WriteSecretFile(const std::string& path, const SecretBytes& contents,
                             bool replace);

// Splits guarded text into lines of whitespace-separated words. The words
// point into `text`; no copy of the secret is made.
std::vector<std::vector<absl::string_view>> SecretTextLines(const SecretBytes& text);

// Decodes `hex` into a new guarded buffer of exactly `size` bytes.
absl::StatusOr<SecretBytes> DecodeSecretHex(absl::string_view hex, size_t size);

// Appends the hex form of `secret` to guarded `out` at `offset`; returns the
// new offset. `out` must be large enough.
size_t AppendSecretHex(const SecretBytes& secret, SecretBytes& out, size_t offset);

}  // namespace trelink
