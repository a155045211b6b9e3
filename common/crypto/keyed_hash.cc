#include "common/crypto/keyed_hash.h"

namespace trelink {
namespace {

constexpr absl::string_view kKeyDomain = "trelink.v1.key";

void Absorb(crypto_generichash_state& state, absl::string_view bytes) {
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

KeyedHasher::KeyedHasher(const ProjectKey& key, absl::string_view domain, size_t out_len)
    : out_len_(out_len) {
  crypto_generichash_init(&prefix_, key.key.data(InsecureSecretAccess()), key.key.size(), out_len);
  const uint8_t zero = 0;
  Absorb(prefix_, kKeyDomain);
  crypto_generichash_update(&prefix_, &zero, 1);
  Absorb(prefix_, domain);
  crypto_generichash_update(&prefix_, &zero, 1);
}

KeyedHasher::~KeyedHasher() { sodium_memzero(&prefix_, sizeof prefix_); }

void KeyedHasher::Hash(absl::Span<const absl::string_view> fields, uint8_t* out) const {
  crypto_generichash_state state = prefix_;
  for (absl::string_view field : fields) {
    const uint32_t n = static_cast<uint32_t>(field.size());
    const uint8_t length[4] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                               static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24)};
    crypto_generichash_update(&state, length, sizeof length);
    Absorb(state, field);
  }
  crypto_generichash_final(&state, out, out_len_);
  sodium_memzero(&state, sizeof state);
}

}  // namespace trelink
