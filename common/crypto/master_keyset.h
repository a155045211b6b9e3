// The pseudonymiser's master keyset: 32-byte random keys with versions, one
// of them primary. The file is text (one `key VERSION [primary] HEX` line per
// key), mode 0600, and is read straight into guarded memory. Per-project keys
// are derived from a master key, so pseudonyms of two projects cannot be
// joined, and every derived key carries its master key's version so outputs
// can be tagged and keys rotated without ambiguity.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"

namespace trelink {

inline constexpr size_t kMasterKeyBytes = 32;

// A key derived for one project from one master key version.
struct ProjectKey {
  uint32_t version;
  SecretBytes key;  // 32 bytes
};

class MasterKeyset {
 public:
  // Loads and validates a keyset file (mode must be 0600 or stricter).
  static absl::StatusOr<MasterKeyset> Load(const std::string& path);
  // Parses keyset text already in guarded memory. `source` names it in errors.
  static absl::StatusOr<MasterKeyset> Parse(const SecretBytes& text, const std::string& source);
  // A new keyset holding one random key, version 1, primary.
  static absl::StatusOr<MasterKeyset> Generate();

  // Adds a random key with the next version and makes it primary. Older keys
  // stay, so pseudonyms made with them can still be recomputed and compared.
  absl::Status Rotate();
  // Writes the keyset (refusing to overwrite unless `replace`).
  absl::Status Save(const std::string& path, bool replace) const;

  uint32_t primary_version() const { return primary_version_; }
  std::vector<uint32_t> versions() const;

  // Derives the key of `project` from master key `version`:
  // BLAKE2b-256(key = master, "trelink.v1.project-key" || 0x00 || project).
  absl::StatusOr<ProjectKey> DeriveProjectKey(absl::string_view project, uint32_t version) const;

 private:
  struct Entry {
    uint32_t version;
    SecretBytes key;
  };
  MasterKeyset() = default;
  const Entry* Find(uint32_t version) const;

  std::vector<Entry> entries_;
  uint32_t primary_version_ = 0;
};

}  // namespace trelink
