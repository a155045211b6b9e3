// Signed checkpoints in the C2SP signed-note shape (c2sp.org/signed-note,
// c2sp.org/tlog-checkpoint): the body is "origin\nsize\nbase64(root)\n", then
// a blank line and one signature line "— name base64(key id || signature)"
// with Ed25519 (libsodium). The key id is the first four bytes of
// SHA-256(name || "\n" || 0x01 || public key). Verifier keys are written in
// the note format "name+hex(key id)+base64(0x01 || public key)".
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"
#include "common/merkle/merkle_tree.h"

namespace trelink {

struct CheckpointBody {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};

class NoteVerifier {
 public:
  // Parses a verifier key "name+keyid+base64(0x01||key)".
  static absl::StatusOr<NoteVerifier> Parse(absl::string_view vkey);
  static absl::StatusOr<NoteVerifier> Load(const std::string& path);

  // Checks the note's signature by this key and parses its body.
  absl::StatusOr<CheckpointBody> Verify(absl::string_view note) const;
  const std::string& name() const { return name_; }
  std::string Encode() const;

 private:
  friend class NoteSigner;
  std::string name_;
  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, 4> key_id_{};
};

class NoteSigner {
 public:
  // A fresh Ed25519 key named `name` (the log's origin).
  static absl::StatusOr<NoteSigner> Generate(const std::string& name);
  // Loads a signing key file (mode 0600 or stricter).
  static absl::StatusOr<NoteSigner> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;

  std::string Sign(const CheckpointBody& body) const;
  const NoteVerifier& verifier() const { return verifier_; }

 private:
  NoteSigner(NoteVerifier verifier, SecretBytes secret) : verifier_(std::move(verifier)), secret_(std::move(secret)) {}
  NoteVerifier verifier_;
  SecretBytes secret_;  // 64-byte Ed25519 secret key
};

std::string FormatCheckpointBody(const CheckpointBody& body);

}  // namespace trelink
