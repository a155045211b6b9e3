// Secret key material in guarded memory: allocated with sodium_malloc (guard
// pages, mlock'd, never swapped), wiped and freed on destruction, never
// copied. The bytes are reachable only with an explicit SecretAccess token,
// so every place that touches a secret is easy to find.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace trelink {

// A token proving the caller means to read secret bytes. Obtain it with
// InsecureSecretAccess(); grep for that name to audit secret use.
class SecretAccess {
 private:
  SecretAccess() = default;
  friend SecretAccess InsecureSecretAccess();
};
SecretAccess InsecureSecretAccess();

class SecretBytes {
 public:
  // Allocates `size` zeroed bytes of guarded memory.
  static absl::StatusOr<SecretBytes> Allocate(size_t size);
  // Allocates and fills with random bytes.
  static absl::StatusOr<SecretBytes> Random(size_t size);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  size_t size() const { return size_; }
  uint8_t* data(SecretAccess) { return data_; }
  const uint8_t* data(SecretAccess) const { return data_; }

  // Constant-time comparison.
  bool Equals(const SecretBytes& other) const;

 private:
  SecretBytes(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Initialises libsodium once; safe to call from any thread.
absl::Status EnsureSodium();

}  // namespace trelink
