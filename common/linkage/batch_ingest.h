// The linker's ingest of one batch: open the sealed keys, check them and the
// content against the relaying batch and the catalogue, and store the whole
// batch or nothing. Idempotent on (project, dataset, batch id).
#pragma once

#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "common/crypto/linker_keys.h"
#include "common/store/linked_store.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

class BatchIngester {
 public:
  // None is owned; all must outlive the ingester.
  BatchIngester(const Catalogue& catalogue, const LinkerKeyPair& keys, LinkedStore& store,
                uint32_t max_records_per_batch)
      : catalogue_(catalogue), keys_(keys), store_(store), max_records_(max_records_per_batch) {}

  // INVALID_ARGUMENT naming batch, record and field for bad input (nothing is
  // stored); ALREADY_EXISTS when the batch id holds other content;
  // RESOURCE_EXHAUSTED over the batch limit. A repeat of a stored batch
  // returns its result with already_stored set.
  absl::StatusOr<trelink::v1::BatchResult> Ingest(const trelink::v1::IngestBatchRequest& request) const;
  // Withdraws the records a sealed withdrawal batch names, all or none.
  absl::StatusOr<trelink::v1::WithdrawResponse> Withdraw(const trelink::v1::WithdrawRequest& request) const;

  // Adds a sealed batch of an opt-out list; with `complete`, activates it.
  absl::StatusOr<trelink::v1::OptOutResponse> ApplyOptOut(const trelink::v1::OptOutRequest& request) const;

  static constexpr size_t kRecordTokenBytes = 32;

 private:
  absl::StatusOr<trelink::v1::SealedMatchKeys> OpenFor(const trelink::v1::SealedBatch& sealed,
                                                       trelink::v1::BatchPurpose purpose, const std::string& batch,
                                                       absl::string_view what) const;
  static absl::Status CheckRecordTokens(const trelink::v1::SealedMatchKeys& keys, const std::string& batch);

  const Catalogue& catalogue_;
  const LinkerKeyPair& keys_;
  LinkedStore& store_;
  uint32_t max_records_;
};

}  // namespace trelink
