// Any bytes as a sealed batch relayed to the linker, opened with a fixed
// test key pair. Random blobs stop at the authenticated decryption, so the
// first input byte chooses what the rest is:
//   even: the blob itself (header, length and decryption checks);
//   odd:  a plaintext, sealed here to the test key, so that the parsing and
//         binding checks after decryption see arbitrary bytes too. Bit 1
//         binds the batch to what the plaintext claims, when it parses, so
//         that the per-record checks are reached; otherwise to a fixed batch.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/crypto/linker_keys.h"
#include "common/crypto/sealed_batch.h"
#include "google/protobuf/stubs/logging.h"

namespace {

// A key pair from a fixed seed, loaded through the key-pair file format the
// linker reads.
trelink::LinkerKeyPair TestKeyPair() {
  if (sodium_init() < 0) std::abort();
  unsigned char seed[crypto_box_SEEDBYTES], pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  for (unsigned char& b : seed) b = 0x42;
  crypto_box_seed_keypair(pk, sk, seed);
  char pk_hex[2 * sizeof pk + 1], sk_hex[2 * sizeof sk + 1];
  sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
  sodium_bin2hex(sk_hex, sizeof sk_hex, sk, sizeof sk);
  const std::string text = std::string("trelink-linker-keypair 1\npublic ") + pk_hex + "\nsecret " + sk_hex + "\n";
  char dir[] = "/tmp/trelink-fuzz-XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  const std::string path = std::string(dir) + "/linker.keypair";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || close(fd) != 0) {
    std::abort();
  }
  absl::StatusOr<trelink::LinkerKeyPair> pair = trelink::LinkerKeyPair::Load(path);
  unlink(path.c_str());
  rmdir(dir);
  if (!pair.ok()) std::abort();
  return *std::move(pair);
}

const trelink::LinkerKeyPair& Keys() {
  static const trelink::LinkerKeyPair* keys = new trelink::LinkerKeyPair(TestKeyPair());
  return *keys;
}

// The blob layout of sealed_batch.h around an arbitrary plaintext.
std::string Seal(const std::string& plaintext) {
  std::string blob(5 + crypto_box_SEALBYTES + plaintext.size(), '\0');
  blob.replace(0, 5, "TLSB\x01", 5);
  crypto_box_seal(reinterpret_cast<unsigned char*>(blob.data() + 5),
                  reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                  Keys().public_key().bytes().data());
  return blob;
}

}  // namespace

// Strings that are not UTF-8 are a large part of the inputs; protobuf would
// log each one it refuses to parse.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  trelink::BatchBinding binding{"demo", "maternity", "maternity-1", 1};
  std::string blob = rest;
  if (mode & 1) {
    blob = Seal(rest);
    trelink::v1::SealedMatchKeys claimed;
    if ((mode & 2) && claimed.ParseFromString(rest)) {
      binding = {claimed.project(), claimed.dataset(), claimed.batch_id(), claimed.record_count()};
    }
  }
  absl::StatusOr<trelink::v1::SealedMatchKeys> opened = trelink::OpenSealedBatch(blob, Keys(), binding);
  if (opened.ok()) {
    // What the linker relies on once a batch opens.
    if (opened->records_size() != static_cast<int>(binding.record_count)) std::abort();
    if (opened->key_kinds_size() != opened->key_names_size()) std::abort();
    if (!(mode & 1)) std::abort();  // a blob not sealed to this key opened
  }
  return 0;
}
