// Sealing a batch of match keys to the linker. The data provider relays the
// blob but can neither read it nor compare two blobs (crypto_box_seal uses a
// fresh ephemeral key each time). The binding (project, dataset, batch id,
// record count, key version) is inside the ciphertext, so the linker rejects
// a blob relayed with the wrong batch.
//
// Blob layout: "TLSB" | format 0x01 | crypto_box_seal(SealedMatchKeys bytes).
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/crypto/linker_keys.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {

// What the relaying batch claims; the linker checks the sealed plaintext
// against it.
struct BatchBinding {
  std::string project;
  std::string dataset;
  std::string batch_id;
  uint32_t record_count = 0;
};

// Serialises and seals `keys` for `recipient`. The plaintext copy is wiped.
absl::StatusOr<std::string> SealMatchKeys(const trelink::v1::SealedMatchKeys& keys,
                                          const LinkerPublicKey& recipient);

// Opens `blob` with the linker's key pair and checks it against `expected`.
// Any tampering, a wrong recipient, a truncated blob or a binding mismatch is
// INVALID_ARGUMENT naming the batch and the check that failed.
absl::StatusOr<trelink::v1::SealedMatchKeys> OpenSealedBatch(absl::string_view blob,
                                                             const LinkerKeyPair& linker,
                                                             const BatchBinding& expected);
// The same, into a message the caller owns: on a protobuf arena, a batch of
// thousands of participants is freed at once rather than string by string.
absl::Status OpenSealedBatchInto(absl::string_view blob, const LinkerKeyPair& linker, const BatchBinding& expected,
                                 trelink::v1::SealedMatchKeys& keys);

}  // namespace trelink
