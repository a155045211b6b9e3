#include "common/crypto/linker_keys.h"

#include <sodium.h>

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/text_config.h"
#include "common/crypto/secret_file.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

constexpr absl::string_view kPublicHeader = "trelink-linker-public-key 1";
constexpr absl::string_view kPairHeader = "trelink-linker-keypair 1";
constexpr absl::string_view kFingerprintDomain = "trelink.v1.box-fingerprint";

absl::StatusOr<std::array<uint8_t, 32>> DecodePublicHex(absl::string_view hex, const std::string& source) {
  std::array<uint8_t, 32> bytes{};
  size_t decoded = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(), nullptr, &decoded, nullptr) != 0 ||
      decoded != bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": public key is not 64 hexadecimal digits"));
  }
  return bytes;
}

std::string Hex(const uint8_t* data, size_t size) {
  std::string out(2 * size + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

}  // namespace

absl::StatusOr<LinkerPublicKey> LinkerPublicKey::FromBytes(const std::array<uint8_t, kBytes>& bytes) {
  TRELINK_RETURN_IF_ERROR(EnsureSodium());
  return LinkerPublicKey(bytes);
}

absl::StatusOr<LinkerPublicKey> LinkerPublicKey::Load(const std::string& path) {
  std::string text;
  TRELINK_RETURN_IF_ERROR(ReadFileToString(path, text));
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  if (lines.size() != 2 || absl::StripAsciiWhitespace(lines[0]) != kPublicHeader) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a trelink linker public key file"));
  }
  TRELINK_ASSIGN_OR_RETURN(auto bytes, DecodePublicHex(absl::StripAsciiWhitespace(lines[1]), path));
  return FromBytes(bytes);
}

std::string LinkerPublicKey::Fingerprint() const {
  uint8_t digest[32];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof digest);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kFingerprintDomain.data()),
                            kFingerprintDomain.size() + 1);  // includes the NUL separator
  crypto_generichash_update(&state, bytes_.data(), bytes_.size());
  crypto_generichash_final(&state, digest, sizeof digest);
  return Hex(digest, 16);
}

absl::Status LinkerPublicKey::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << kPublicHeader << "\n" << Hex(bytes_.data(), bytes_.size()) << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<LinkerKeyPair> LinkerKeyPair::Generate() {
  TRELINK_ASSIGN_OR_RETURN(SecretBytes secret, SecretBytes::Allocate(crypto_box_SECRETKEYBYTES));
  std::array<uint8_t, 32> pk{};
  crypto_box_keypair(pk.data(), secret.data(InsecureSecretAccess()));
  TRELINK_ASSIGN_OR_RETURN(LinkerPublicKey public_key, LinkerPublicKey::FromBytes(pk));
  return LinkerKeyPair(public_key, std::move(secret));
}

absl::StatusOr<LinkerKeyPair> LinkerKeyPair::Load(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path));
  const auto lines = SecretTextLines(text);
  if (lines.size() != 3 || lines[0].size() != 2 || absl::StrCat(lines[0][0], " ", lines[0][1]) != kPairHeader ||
      lines[1].size() != 2 || lines[1][0] != "public" || lines[2].size() != 2 || lines[2][0] != "secret") {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a trelink linker key-pair file"));
  }
  TRELINK_ASSIGN_OR_RETURN(auto pk, DecodePublicHex(lines[1][1], path));
  absl::StatusOr<SecretBytes> secret = DecodeSecretHex(lines[2][1], crypto_box_SECRETKEYBYTES);
  if (!secret.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": secret ", secret.status().message()));
  // The public key must be the one the secret key implies.
  std::array<uint8_t, 32> derived{};
  crypto_scalarmult_base(derived.data(), secret->data(InsecureSecretAccess()));
  if (sodium_memcmp(derived.data(), pk.data(), pk.size()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": public key does not match the secret key"));
  }
  TRELINK_ASSIGN_OR_RETURN(LinkerPublicKey public_key, LinkerPublicKey::FromBytes(pk));
  return LinkerKeyPair(public_key, *std::move(secret));
}

absl::Status LinkerKeyPair::Save(const std::string& path) const {
  const std::string head = absl::StrCat("# trelink linker key pair: secret. Keep mode 0600.\n", kPairHeader,
                                        "\npublic ", Hex(public_key_.bytes().data(), 32), "\nsecret ");
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::Allocate(head.size() + 2 * secret_key_.size() + 1));
  memcpy(text.data(InsecureSecretAccess()), head.data(), head.size());
  size_t end = AppendSecretHex(secret_key_, text, head.size());
  text.data(InsecureSecretAccess())[end] = '\n';  // replaces the hex NUL
  return WriteSecretFile(path, text, /*replace=*/false);
}

}  // namespace trelink
