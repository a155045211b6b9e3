#include "common/crypto/master_keyset.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/secret_file.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

constexpr absl::string_view kHeader = "trelink-master-keyset";
constexpr absl::string_view kFormatVersion = "1";
constexpr absl::string_view kProjectKeyDomain = "trelink.v1.project-key";

absl::Status KeysetError(const std::string& source, size_t line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": keyset line ", line, ": ", what));
}

}  // namespace

absl::StatusOr<MasterKeyset> MasterKeyset::Load(const std::string& path) {
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(path));
  return Parse(text, path);
}

absl::StatusOr<MasterKeyset> MasterKeyset::Parse(const SecretBytes& text, const std::string& source) {
  const auto lines = SecretTextLines(text);
  if (lines.empty() || lines[0].size() != 2 || lines[0][0] != kHeader || lines[0][1] != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not a trelink master keyset (expected first line \"", kHeader, " ", kFormatVersion, "\")"));
  }
  MasterKeyset keyset;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto& words = lines[i];
    const bool primary = words.size() == 4 && words[2] == "primary";
    if (words[0] != "key" || (words.size() != 3 && !primary)) {
      return KeysetError(source, i + 1, "expected `key VERSION [primary] HEX`");
    }
    uint32_t version = 0;
    if (!absl::SimpleAtoi(words[1], &version) || version == 0) {
      return KeysetError(source, i + 1, "version must be a positive integer");
    }
    if (keyset.Find(version) != nullptr) return KeysetError(source, i + 1, "duplicate version");
    absl::StatusOr<SecretBytes> key = DecodeSecretHex(words.back(), kMasterKeyBytes);
    if (!key.ok()) return KeysetError(source, i + 1, key.status().message());
    if (primary) {
      if (keyset.primary_version_ != 0) return KeysetError(source, i + 1, "a second primary key");
      keyset.primary_version_ = version;
    }
    keyset.entries_.push_back(Entry{version, *std::move(key)});
  }
  if (keyset.entries_.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": keyset has no keys"));
  if (keyset.primary_version_ == 0) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": keyset has no primary key"));
  }
  return keyset;
}

absl::StatusOr<MasterKeyset> MasterKeyset::Generate() {
  MasterKeyset keyset;
  TRELINK_RETURN_IF_ERROR(keyset.Rotate());
  return keyset;
}

absl::Status MasterKeyset::Rotate() {
  TRELINK_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::Random(kMasterKeyBytes));
  uint32_t next = 1;
  for (const Entry& e : entries_) next = std::max(next, e.version + 1);
  entries_.push_back(Entry{next, std::move(key)});
  primary_version_ = next;
  return absl::OkStatus();
}

absl::Status MasterKeyset::Save(const std::string& path, bool replace) const {
  const std::string header = absl::StrCat(
      "# trelink master keyset: secret. Keep mode 0600; never copy off the pseudonymiser host.\n",
      kHeader, " ", kFormatVersion, "\n");
  // Each line: "key " + up to 10 digits + " primary " + 64 hex + "\n".
  const size_t capacity = header.size() + entries_.size() * (4 + 10 + 9 + 2 * kMasterKeyBytes + 2) + 1;
  TRELINK_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::Allocate(capacity));
  char* out = reinterpret_cast<char*>(text.data(InsecureSecretAccess()));
  size_t offset = 0;
  auto append = [&](absl::string_view s) {
    memcpy(out + offset, s.data(), s.size());
    offset += s.size();
  };
  append(header);
  for (const Entry& e : entries_) {
    append(absl::StrCat("key ", e.version, e.version == primary_version_ ? " primary " : " "));
    offset = AppendSecretHex(e.key, text, offset);
    append("\n");
  }
  TRELINK_ASSIGN_OR_RETURN(SecretBytes exact, SecretBytes::Allocate(offset));
  memcpy(exact.data(InsecureSecretAccess()), out, offset);
  return WriteSecretFile(path, exact, replace);
}

std::vector<uint32_t> MasterKeyset::versions() const {
  std::vector<uint32_t> result;
  for (const Entry& e : entries_) result.push_back(e.version);
  std::sort(result.begin(), result.end());
  return result;
}

const MasterKeyset::Entry* MasterKeyset::Find(uint32_t version) const {
  for (const Entry& e : entries_) {
    if (e.version == version) return &e;
  }
  return nullptr;
}

absl::StatusOr<ProjectKey> MasterKeyset::DeriveProjectKey(absl::string_view project, uint32_t version) const {
  if (project.empty()) return absl::InvalidArgumentError("project must not be empty");
  const Entry* master = Find(version);
  if (master == nullptr) return absl::NotFoundError(absl::StrCat("no master key version ", version));
  TRELINK_ASSIGN_OR_RETURN(SecretBytes derived, SecretBytes::Allocate(crypto_generichash_BYTES));
  crypto_generichash_state state;
  crypto_generichash_init(&state, master->key.data(InsecureSecretAccess()), master->key.size(),
                          crypto_generichash_BYTES);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kProjectKeyDomain.data()),
                            kProjectKeyDomain.size());
  const uint8_t separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(project.data()), project.size());
  crypto_generichash_final(&state, derived.data(InsecureSecretAccess()), derived.size());
  sodium_memzero(&state, sizeof state);
  return ProjectKey{version, std::move(derived)};
}

}  // namespace trelink
