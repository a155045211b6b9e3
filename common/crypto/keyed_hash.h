// Keyed BLAKE2b with domain separation: the primitive behind every match key
// and field token. The domain (the key's configured name) is hashed first and
// every field is length-prefixed, so two key kinds over the same input, or two
// field lists that concatenate to the same bytes, never collide:
//
//   BLAKE2b-n(project key, "trelink.v1.key" 0 domain 0 || u32le(len) field ...)
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/types/span.h"
#include "common/crypto/master_keyset.h"

namespace trelink {

class KeyedHasher {
 public:
  static constexpr size_t kMinBytes = 16;
  static constexpr size_t kMaxBytes = 64;

  // `out_len` must be in [kMinBytes, kMaxBytes]. The key and domain are
  // absorbed once here; Hash() starts from a copy of that state.
  KeyedHasher(const ProjectKey& key, absl::string_view domain, size_t out_len);
  ~KeyedHasher();
  KeyedHasher(const KeyedHasher&) = delete;
  KeyedHasher& operator=(const KeyedHasher&) = delete;

  size_t out_len() const { return out_len_; }
  // Writes out_len() bytes to `out`.
  void Hash(absl::Span<const absl::string_view> fields, uint8_t* out) const;

 private:
  crypto_generichash_state prefix_;
  size_t out_len_;
};

}  // namespace trelink
