// The linker's X25519 key pair, to which the pseudonymiser seals match keys.
// The public key file is shareable text; the key-pair file is secret (0600).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"

namespace trelink {

class LinkerPublicKey {
 public:
  static constexpr size_t kBytes = 32;
  static absl::StatusOr<LinkerPublicKey> Load(const std::string& path);
  static absl::StatusOr<LinkerPublicKey> FromBytes(const std::array<uint8_t, kBytes>& bytes);

  const std::array<uint8_t, kBytes>& bytes() const { return bytes_; }
  // Hex of the first 16 bytes of BLAKE2b-256("trelink.v1.box-fingerprint" 0 key):
  // lets a sealed batch name its recipient without revealing anything.
  std::string Fingerprint() const;
  absl::Status Save(const std::string& path) const;

 private:
  explicit LinkerPublicKey(const std::array<uint8_t, kBytes>& bytes) : bytes_(bytes) {}
  std::array<uint8_t, kBytes> bytes_;
};

class LinkerKeyPair {
 public:
  static absl::StatusOr<LinkerKeyPair> Generate();
  static absl::StatusOr<LinkerKeyPair> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;

  const LinkerPublicKey& public_key() const { return public_key_; }
  const SecretBytes& secret_key() const { return secret_key_; }

 private:
  LinkerKeyPair(LinkerPublicKey pk, SecretBytes sk) : public_key_(pk), secret_key_(std::move(sk)) {}
  LinkerPublicKey public_key_;
  SecretBytes secret_key_;
};

}  // namespace trelink
