// The pseudonymiser's domain logic, with no gRPC: validate a batch of
// identifier records, normalise, compute the configured keyed hashes with the
// project's primary key, and seal them for the linker.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/crypto/linker_keys.h"
#include "common/crypto/master_keyset.h"
#include "common/pseudonym/key_schema.h"
#include "common/time/clock.h"
#include "trelink/v1/config.pb.h"
#include "trelink/v1/match_keys.pb.h"
#include "trelink/v1/pseudonym.pb.h"

namespace trelink {

struct PseudonymiserLimits {
  uint32_t max_records_per_batch = 10000;
  uint32_t max_participants_per_record = 8;
  absl::CivilDay earliest_date_of_birth = absl::CivilDay(1900, 1, 1);
};

class Pseudonymiser {
 public:
  // Validates the schema and limits. `clock` must outlive the object.
  static absl::StatusOr<std::unique_ptr<Pseudonymiser>> Create(MasterKeyset keyset, LinkerPublicKey linker,
                                                               trelink::v1::KeySchema schema,
                                                               PseudonymiserLimits limits, const Clock& clock);

  // Builds it from a service config: loads the key files, applies defaults.
  static absl::StatusOr<std::unique_ptr<Pseudonymiser>> FromConfig(const trelink::v1::PseudonymiserConfig& config,
                                                                    const Clock& clock);

  // Pseudonymises one batch. The whole batch fails on the first bad record:
  // INVALID_ARGUMENT naming batch, record and field (never a value);
  // RESOURCE_EXHAUSTED over the batch limit. Thread-safe.
  absl::StatusOr<trelink::v1::PseudonymiseBatchResponse> PseudonymiseBatch(
      const trelink::v1::PseudonymiseBatchRequest& request) const;

  trelink::v1::GetKeyInfoResponse KeyInfo() const;
  const PseudonymiserLimits& limits() const { return limits_; }

 private:
  Pseudonymiser(MasterKeyset keyset, LinkerPublicKey linker, trelink::v1::KeySchema schema,
                PseudonymiserLimits limits, const Clock& clock)
      : keyset_(std::move(keyset)),
        linker_(linker),
        schema_(std::move(schema)),
        other_names_(OtherIdentifierNames(schema_)),
        limits_(limits),
        clock_(clock) {}

  MasterKeyset keyset_;
  LinkerPublicKey linker_;
  trelink::v1::KeySchema schema_;
  std::set<std::string> other_names_;  // identifiers the schema reads from Identifiers.other
  PseudonymiserLimits limits_;
  const Clock& clock_;
};

}  // namespace trelink
