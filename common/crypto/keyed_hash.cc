#include "common/crypto/keyed_hash.h"

#include <cstring>

namespace trelink {
namespace {

constexpr absl::string_view kKeyDomain = "trelink.v1.key";
constexpr absl::string_view kTokenKeyDomain = "trelink.v1.token-key";

void Absorb(crypto_generichash_state& state, absl::string_view bytes) {
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void AbsorbTagged(crypto_generichash_state& state, absl::string_view tag, absl::string_view domain) {
  const uint8_t zero = 0;
  Absorb(state, tag);
  crypto_generichash_update(&state, &zero, 1);
  Absorb(state, domain);
  crypto_generichash_update(&state, &zero, 1);
}

void AppendLength(std::string& out, size_t size) {
  const uint32_t n = static_cast<uint32_t>(size);
  const char length[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 24)};
  out.append(length, sizeof length);
}

}  // namespace

KeyedHasher::KeyedHasher(const ProjectKey& key, absl::string_view domain, Kind kind) : kind_(kind) {
  const uint8_t* secret = key.key.data(InsecureSecretAccess());
  if (kind == Kind::kMatchKey) {
    crypto_generichash_init(&prefix_, secret, key.key.size(), kMatchKeyBytes);
    AbsorbTagged(prefix_, kKeyDomain, domain);
    sodium_memzero(token_key_, sizeof token_key_);
  } else {
    crypto_generichash_state state;
    crypto_generichash_init(&state, secret, key.key.size(), sizeof token_key_);
    AbsorbTagged(state, kTokenKeyDomain, domain);
    crypto_generichash_final(&state, token_key_, sizeof token_key_);
    sodium_memzero(&state, sizeof state);
    sodium_memzero(&prefix_, sizeof prefix_);
  }
}

KeyedHasher::~KeyedHasher() {
  sodium_memzero(&prefix_, sizeof prefix_);
  sodium_memzero(token_key_, sizeof token_key_);
}

void KeyedHasher::Hash(absl::Span<const absl::string_view> fields, uint8_t* out) const {
  thread_local std::string message;
  message.clear();
  for (absl::string_view field : fields) {
    AppendLength(message, field.size());
    message.append(field.data(), field.size());
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(message.data());
  if (kind_ == Kind::kFieldToken) {
    crypto_shorthash_siphashx24(out, bytes, message.size(), token_key_);
  } else {
    crypto_generichash_state state = prefix_;
    crypto_generichash_update(&state, bytes, message.size());
    crypto_generichash_final(&state, out, kMatchKeyBytes);
    sodium_memzero(&state, sizeof state);
  }
  sodium_memzero(message.data(), message.size());
}

}  // namespace trelink
