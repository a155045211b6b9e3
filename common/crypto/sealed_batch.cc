#include "common/crypto/sealed_batch.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

constexpr char kMagic[4] = {'T', 'L', 'S', 'B'};
constexpr uint8_t kFormat = 1;
constexpr size_t kHeaderBytes = sizeof kMagic + 1;

absl::Status Rejected(const BatchBinding& expected, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("batch ", expected.batch_id, ": sealed blob rejected: ", why));
}

}  // namespace

absl::StatusOr<std::string> SealMatchKeys(const trelink::v1::SealedMatchKeys& keys,
                                          const LinkerPublicKey& recipient) {
  TRELINK_RETURN_IF_ERROR(EnsureSodium());
  std::string plaintext;
  if (!keys.SerializeToString(&plaintext)) return absl::InternalError("cannot serialise match keys");
  std::string blob(kHeaderBytes + crypto_box_SEALBYTES + plaintext.size(), '\0');
  memcpy(blob.data(), kMagic, sizeof kMagic);
  blob[sizeof kMagic] = static_cast<char>(kFormat);
  const int rc = crypto_box_seal(reinterpret_cast<uint8_t*>(blob.data() + kHeaderBytes),
                                 reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(),
                                 recipient.bytes().data());
  sodium_memzero(plaintext.data(), plaintext.size());
  if (rc != 0) return absl::InternalError("crypto_box_seal failed");
  return blob;
}

absl::StatusOr<trelink::v1::SealedMatchKeys> OpenSealedBatch(absl::string_view blob,
                                                             const LinkerKeyPair& linker,
                                                             const BatchBinding& expected) {
  trelink::v1::SealedMatchKeys keys;
  TRELINK_RETURN_IF_ERROR(OpenSealedBatchInto(blob, linker, expected, keys));
  return keys;
}

absl::Status OpenSealedBatchInto(absl::string_view blob, const LinkerKeyPair& linker, const BatchBinding& expected,
                                 trelink::v1::SealedMatchKeys& keys) {
  if (blob.size() < kHeaderBytes + crypto_box_SEALBYTES) return Rejected(expected, "too short");
  if (memcmp(blob.data(), kMagic, sizeof kMagic) != 0) return Rejected(expected, "not a trelink sealed batch");
  if (static_cast<uint8_t>(blob[sizeof kMagic]) != kFormat) return Rejected(expected, "unknown format version");
  const size_t sealed_size = blob.size() - kHeaderBytes;
  std::string plaintext(sealed_size - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<uint8_t*>(plaintext.data()),
                           reinterpret_cast<const uint8_t*>(blob.data() + kHeaderBytes), sealed_size,
                           linker.public_key().bytes().data(),
                           linker.secret_key().data(InsecureSecretAccess())) != 0) {
    return Rejected(expected, "cannot be opened with this linker's key (sealed for another key, or altered)");
  }
  const bool parsed = keys.ParseFromString(plaintext);
  sodium_memzero(plaintext.data(), plaintext.size());
  if (!parsed) return Rejected(expected, "plaintext is not a match-key batch");
  if (keys.project() != expected.project) return Rejected(expected, "sealed for another project");
  if (keys.dataset() != expected.dataset) return Rejected(expected, "sealed for another dataset");
  if (keys.batch_id() != expected.batch_id) return Rejected(expected, "sealed for another batch id");
  if (keys.record_count() != expected.record_count) {
    return Rejected(expected, absl::StrCat("sealed for ", keys.record_count(), " records, batch has ",
                                           expected.record_count));
  }
  if (static_cast<uint32_t>(keys.records_size()) != keys.record_count()) {
    return Rejected(expected, "record count does not match the sealed records");
  }
  if (keys.key_kinds_size() != keys.key_names_size()) return Rejected(expected, "key kinds and names differ");
  for (int r = 0; r < keys.records_size(); ++r) {
    for (const auto& participant : keys.records(r).participants()) {
      if (participant.values_size() != keys.key_names_size()) {
        return Rejected(expected, absl::StrCat("record ", r, ": wrong number of key values"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace trelink
