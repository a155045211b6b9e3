#include "common/disclosure_log/signed_note.h"

#include <sodium.h>

#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/text_config.h"
#include "common/crypto/secret_file.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

std::string Base64(const uint8_t* data, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(strlen(out.c_str()));
  return out;
}

bool FromBase64(absl::string_view text, std::string& out) {
  out.assign(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  out.resize(length);
  return true;
}

std::array<uint8_t, 4> KeyId(const std::string& name, const std::array<uint8_t, 32>& key) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(name.data()), name.size());
  const uint8_t separator[2] = {'\n', 0x01};
  crypto_hash_sha256_update(&state, separator, 2);
  crypto_hash_sha256_update(&state, key.data(), key.size());
  uint8_t digest[32];
  crypto_hash_sha256_final(&state, digest);
  return {digest[0], digest[1], digest[2], digest[3]};
}

constexpr absl::string_view kSignaturePrefix = "\xe2\x80\x94 ";  // em dash and space
constexpr absl::string_view kKeyHeader = "trelink-log-signing-key 1";

}  // namespace

std::string FormatCheckpointBody(const CheckpointBody& body) {
  return absl::StrCat(body.origin, "\n", body.size, "\n", Base64(body.root.data(), body.root.size()), "\n");
}

absl::StatusOr<NoteVerifier> NoteVerifier::Parse(absl::string_view vkey) {
  TRELINK_RETURN_IF_ERROR(EnsureSodium());
  // name+keyid+base64: the base64 may itself contain '+'.
  std::vector<std::string> parts = absl::StrSplit(absl::StripAsciiWhitespace(vkey), absl::MaxSplits('+', 2));
  std::string key;
  if (parts.size() != 3 || parts[0].empty() || parts[1].size() != 8 || !FromBase64(parts[2], key) ||
      key.size() != 33 || key[0] != 0x01) {
    return absl::InvalidArgumentError("not a verifier key (name+keyid+base64 of 0x01 and an Ed25519 key)");
  }
  NoteVerifier verifier;
  verifier.name_ = parts[0];
  memcpy(verifier.key_.data(), key.data() + 1, 32);
  verifier.key_id_ = KeyId(verifier.name_, verifier.key_);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, verifier.key_id_.data(), 4);
  if (parts[1] != hex) return absl::InvalidArgumentError("verifier key: key id does not match the key");
  return verifier;
}

absl::StatusOr<NoteVerifier> NoteVerifier::Load(const std::string& path) {
  std::string text;
  TRELINK_RETURN_IF_ERROR(ReadFileToString(path, text));
  absl::StatusOr<NoteVerifier> verifier = Parse(text);
  if (!verifier.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", verifier.status().message()));
  return verifier;
}

std::string NoteVerifier::Encode() const {
  uint8_t key[33];
  key[0] = 0x01;
  memcpy(key + 1, key_.data(), 32);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, key_id_.data(), 4);
  return absl::StrCat(name_, "+", hex, "+", Base64(key, sizeof key));
}

absl::StatusOr<CheckpointBody> NoteVerifier::Verify(absl::string_view note) const {
  const size_t split = note.find("\n\n");
  if (split == absl::string_view::npos) return absl::InvalidArgumentError("checkpoint: no blank line before signatures");
  const absl::string_view text = note.substr(0, split + 1);
  bool verified = false;
  for (absl::string_view line : absl::StrSplit(note.substr(split + 2), '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, kSignaturePrefix)) return absl::InvalidArgumentError("checkpoint: malformed signature line");
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.substr(0, space) != name_) continue;
    std::string signature;
    if (!FromBase64(line.substr(space + 1), signature) || signature.size() != 68) continue;
    if (memcmp(signature.data(), key_id_.data(), 4) != 0) continue;
    if (crypto_sign_verify_detached(reinterpret_cast<const uint8_t*>(signature.data() + 4),
                                    reinterpret_cast<const uint8_t*>(text.data()), text.size(), key_.data()) == 0) {
      verified = true;
    }
  }
  if (!verified) return absl::PermissionDeniedError(absl::StrCat("checkpoint: no valid signature by ", name_));
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  CheckpointBody body;
  std::string root;
  if (lines.size() < 4 || !absl::SimpleAtoi(lines[1], &body.size) || !FromBase64(lines[2], root) || root.size() != 32) {
    return absl::InvalidArgumentError("checkpoint: body is not origin, size and base64 root hash");
  }
  body.origin = std::string(lines[0]);
  memcpy(body.root.data(), root.data(), 32);
  return body;
}

absl::StatusOr<NoteSigner> NoteSigner::Generate(const std::string& name) {
  TRELINK_RETURN_IF_ERROR(EnsureSodium());
  if (name.empty() || name.find_first_of("+ \n") != std::string::npos) {
    return absl::InvalidArgumentError("log name: non-empty, without spaces or '+'");
  }
  TRELINK_ASSIGN_OR_RETURN(SecretBytes secret, SecretBytes::Allocate(crypto_sign_SECRETKEYBYTES));
  NoteVerifier verifier;
  verifier.name_ = name;
  crypto_sign_keypair(verifier.key_.data(), secret.data(InsecureSecretAccess()));
  verifier.key_id_ = KeyId(name, verifier.key_);
  return NoteSigner(std::move(verifier), std::move(secret));
}

absl::StatusOr<NoteSigner> NoteSigner::Load(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path));
  const auto lines = SecretTextLines(text);
  if (lines.size() != 3 || absl::StrCat(lines[0][0], " ", lines[0].size() > 1 ? lines[0][1] : "") != kKeyHeader ||
      lines[1].size() != 2 || lines[1][0] != "name" || lines[2].size() != 2 || lines[2][0] != "secret") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a trelink log signing key"));
  }
  absl::StatusOr<SecretBytes> secret = DecodeSecretHex(lines[2][1], crypto_sign_SECRETKEYBYTES);
  if (!secret.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", secret.status().message()));
  NoteVerifier verifier;
  verifier.name_ = std::string(lines[1][1]);
  crypto_sign_ed25519_sk_to_pk(verifier.key_.data(), secret->data(InsecureSecretAccess()));
  verifier.key_id_ = KeyId(verifier.name_, verifier.key_);
  return NoteSigner(std::move(verifier), *std::move(secret));
}

absl::Status NoteSigner::Save(const std::string& path) const {
  const std::string head = absl::StrCat("# trelink disclosure-log signing key: secret. Keep mode 0600.\n", kKeyHeader,
                                        "\nname ", verifier_.name(), "\nsecret ");
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::Allocate(head.size() + 2 * secret_.size() + 1));
  memcpy(text.data(InsecureSecretAccess()), head.data(), head.size());
  const size_t end = AppendSecretHex(secret_, text, head.size());
  text.data(InsecureSecretAccess())[end] = '\n';
  return WriteSecretFile(path, text, /*replace=*/false);
}

std::string NoteSigner::Sign(const CheckpointBody& body) const {
  const std::string text = FormatCheckpointBody(body);
  uint8_t signature[4 + crypto_sign_BYTES];
  memcpy(signature, verifier_.key_id_.data(), 4);
  crypto_sign_detached(signature + 4, nullptr, reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                       secret_.data(InsecureSecretAccess()));
  return absl::StrCat(text, "\n", kSignaturePrefix, verifier_.name(), " ", Base64(signature, sizeof signature), "\n");
}

}  // namespace trelink
