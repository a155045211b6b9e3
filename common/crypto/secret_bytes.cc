#include "common/crypto/secret_bytes.h"

#include <sodium.h>

#include <utility>

namespace trelink {

SecretAccess InsecureSecretAccess() { return SecretAccess(); }

absl::Status EnsureSodium() {
  static const int result = sodium_init();
  if (result < 0) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> SecretBytes::Allocate(size_t size) {
  if (absl::Status s = EnsureSodium(); !s.ok()) return s;
  void* memory = sodium_malloc(size == 0 ? 1 : size);
  if (memory == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate guarded memory for a key");
  }
  sodium_memzero(memory, size == 0 ? 1 : size);
  return SecretBytes(static_cast<uint8_t*>(memory), size);
}

absl::StatusOr<SecretBytes> SecretBytes::Random(size_t size) {
  absl::StatusOr<SecretBytes> secret = Allocate(size);
  if (!secret.ok()) return secret;
  randombytes_buf(secret->data_, size);
  return secret;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes first
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return size_ == other.size_ && sodium_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace trelink
