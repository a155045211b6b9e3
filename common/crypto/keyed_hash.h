// The keyed hashes behind every match key and field token, with domain
// separation: the key's configured name selects the hash's domain, and every
// field is length-prefixed, so two key kinds over the same input, or two field
// lists that concatenate to the same bytes, never collide.
//
//   match key (32 bytes):
//     BLAKE2b-256(project key, "trelink.v1.key" 0 domain 0 || u32le(len) field ...)
//   field token (16 bytes):
//     SipHash-2-4-128(token key, u32le(len) field ...), where
//     token key = BLAKE2b-128(project key, "trelink.v1.token-key" 0 domain 0)
//
// Tokens use SipHash because there are many of them per person and they only
// score agreement: a 128-bit PRF with a per-domain key is enough, and it is
// several times cheaper than keyed BLAKE2b on short inputs.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/crypto/master_keyset.h"

namespace trelink {

class KeyedHasher {
 public:
  enum class Kind { kMatchKey, kFieldToken };
  static constexpr size_t kMatchKeyBytes = 32;
  static constexpr size_t kFieldTokenBytes = 16;

  KeyedHasher(const ProjectKey& key, absl::string_view domain, Kind kind);
  ~KeyedHasher();
  KeyedHasher(const KeyedHasher&) = delete;
  KeyedHasher& operator=(const KeyedHasher&) = delete;

  size_t out_len() const { return kind_ == Kind::kMatchKey ? kMatchKeyBytes : kFieldTokenBytes; }
  // Writes out_len() bytes to `out`. Thread-compatible (const, no state).
  void Hash(absl::Span<const absl::string_view> fields, uint8_t* out) const;

 private:
  Kind kind_;
  crypto_generichash_state prefix_;                   // match keys: key and domain absorbed
  uint8_t token_key_[crypto_shorthash_siphashx24_KEYBYTES];  // field tokens
};

}  // namespace trelink
