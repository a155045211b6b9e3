#include "common/linkage/batch_ingest.h"

#include "common/config/proto_bytes.h"

#include <sodium.h>


#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sealed_batch.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// SHA-256 over the deterministic serialisation of the opened keys and each
// content record: the identity of a batch's content, independent of the
// ephemeral key that sealed it.
std::string Digest(const trelink::v1::SealedMatchKeys& keys,
                   const google::protobuf::RepeatedPtrField<trelink::v1::ContentRecord>& content) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  auto absorb = [&state](const google::protobuf::Message& message) {
    const std::string bytes = DeterministicBytes(message);
    const uint64_t size = bytes.size();
    crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(&size), sizeof size);
    crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  absorb(keys);
  for (const auto& record : content) absorb(record);
  std::string digest(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256_final(&state, reinterpret_cast<uint8_t*>(digest.data()));
  return digest;
}

std::string PurposeName(trelink::v1::BatchPurpose purpose) {
  switch (purpose) {
    case trelink::v1::BATCH_RECORDS:
      return "records";
    case trelink::v1::BATCH_WITHDRAWAL:
      return "withdrawal";
    case trelink::v1::BATCH_OPT_OUT:
      return "opt-out";
    default:
      return "unknown";
  }
}

// The catalogue's checks fail with its own codes; a record that fails them
// is a bad request.
absl::Status WithCode(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInvalidArgument) return s;
  absl::Status out(absl::StatusCode::kInvalidArgument, s.message());
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace

absl::StatusOr<trelink::v1::BatchResult> BatchIngester::Ingest(const trelink::v1::IngestBatchRequest& request) const {
  const trelink::v1::SealedBatch& sealed = request.sealed();
  if (sealed.batch_id().empty()) return FieldError("sealed.batch_id", "required");
  const std::string batch = absl::StrCat("batch ", sealed.batch_id(), ": ");
  if (sealed.project().empty()) return FieldError("sealed.project", "required", batch);
  const trelink::v1::DatasetSpec* dataset = catalogue_.Find(sealed.dataset());
  if (dataset == nullptr) {
    return FieldError("sealed.dataset", absl::StrCat("\"", sealed.dataset(), "\" is not in the catalogue"), batch);
  }
  if (static_cast<uint32_t>(request.records_size()) > max_records_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(batch, "records: ", request.records_size(), " exceed the limit of ", max_records_));
  }
  if (static_cast<uint32_t>(request.records_size()) != sealed.record_count()) {
    return FieldError("records",
                      absl::StrCat(request.records_size(), " content records, but the batch declares ",
                                   sealed.record_count()),
                      batch);
  }
  // The batch's keys live on an arena: thousands of messages and strings,
  // freed at once when the batch is stored.
  google::protobuf::Arena arena(BatchArenaOptions());
  trelink::v1::SealedMatchKeys& keys = *google::protobuf::Arena::CreateMessage<trelink::v1::SealedMatchKeys>(&arena);
  TRELINK_RETURN_IF_ERROR(OpenSealedBatchInto(
      sealed.blob(), keys_,
      {sealed.project(), sealed.dataset(), sealed.batch_id(), static_cast<uint32_t>(request.records_size())}, keys));
  if (keys.key_version() != sealed.key_version()) {
    return FieldError("sealed.key_version", "does not match the sealed keys", batch);
  }
  if (keys.purpose() != trelink::v1::BATCH_RECORDS) {
    return FieldError("sealed", absl::StrCat("a ", PurposeName(keys.purpose()), " batch, not records; send it to its own call"),
                      batch);
  }
  TRELINK_RETURN_IF_ERROR(CheckRecordTokens(keys, batch));
  for (int r = 0; r < request.records_size(); ++r) {
    const std::string record = absl::StrCat("records[", r, "]");
    const auto& participants = keys.records(r).participants();
    if (participants.empty()) return FieldError(record + ".participants", "none", batch);
    for (int p = 0; p < participants.size(); ++p) {
      if (absl::Status s = Catalogue::ValidateRole(*dataset, participants[p].role()); !s.ok()) {
        return NestedFieldError(WithCode(s), absl::StrCat(record, ".participants[", p, "]"), batch);
      }
    }
    if (absl::Status s = catalogue_.ValidateContent(*dataset, request.records(r)); !s.ok()) {
      return NestedFieldError(WithCode(s), record, batch);
    }
  }

  trelink::v1::BatchResult result;
  result.set_batch_id(sealed.batch_id());
  result.set_dataset(sealed.dataset());
  result.set_records(static_cast<uint32_t>(request.records_size()));
  const std::string digest = Digest(keys, request.records());
  auto check_existing = [&]() -> absl::StatusOr<bool> {
    TRELINK_ASSIGN_OR_RETURN(auto existing, store_.FindBatch(sealed.project(), sealed.dataset(), sealed.batch_id()));
    if (!existing.has_value()) return false;
    if (existing->digest != digest) {
      return absl::AlreadyExistsError(
          absl::StrCat(batch, "batch_id: already stored with other content; use a new batch id"));
    }
    return true;
  };
  TRELINK_ASSIGN_OR_RETURN(bool stored, check_existing());
  if (stored) {
    result.set_already_stored(true);
    return result;
  }
  BatchToStore to_store{sealed.project(), sealed.dataset(), sealed.batch_id(), digest, &keys, &request.records()};
  absl::StatusOr<uint32_t> replaced = store_.StoreBatch(to_store);
  if (absl::IsAlreadyExists(replaced.status())) {  // a concurrent ingest of the same id won
    TRELINK_ASSIGN_OR_RETURN(stored, check_existing());
    result.set_already_stored(true);
    return result;
  }
  TRELINK_RETURN_IF_ERROR(replaced.status());
  result.set_records_replaced(*replaced);
  return result;
}

absl::StatusOr<trelink::v1::WithdrawResponse> BatchIngester::Withdraw(const trelink::v1::WithdrawRequest& request) const {
  const trelink::v1::SealedBatch& sealed = request.sealed();
  if (sealed.batch_id().empty()) return FieldError("sealed.batch_id", "required");
  const std::string batch = absl::StrCat("withdrawal ", sealed.batch_id(), ": ");
  if (catalogue_.Find(sealed.dataset()) == nullptr) {
    return FieldError("sealed.dataset", absl::StrCat("\"", sealed.dataset(), "\" is not in the catalogue"), batch);
  }
  TRELINK_ASSIGN_OR_RETURN(trelink::v1::SealedMatchKeys keys,
                           OpenFor(sealed, trelink::v1::BATCH_WITHDRAWAL, batch, "a withdrawal"));
  TRELINK_RETURN_IF_ERROR(CheckRecordTokens(keys, batch));
  std::vector<std::string> tokens;
  for (int r = 0; r < keys.records_size(); ++r) {
    const trelink::v1::RecordKeys& record = keys.records(r);
    if (!record.participants().empty() || record.record_token().empty()) {
      return FieldError(absl::StrCat("records[", r, "]"), "a withdrawal names a record id and no participants", batch);
    }
    tokens.push_back(record.record_token());
  }
  TRELINK_ASSIGN_OR_RETURN(WithdrawalCounts counts, store_.WithdrawRecords(tokens));
  trelink::v1::WithdrawResponse response;
  response.set_withdrawn(counts.withdrawn);
  response.set_already_withdrawn(counts.already_withdrawn);
  response.set_not_found(counts.not_found);
  return response;
}

absl::StatusOr<trelink::v1::OptOutResponse> BatchIngester::ApplyOptOut(
    const trelink::v1::OptOutRequest& request) const {
  const trelink::v1::SealedBatch& sealed = request.sealed();
  const std::string& version = request.list_version();
  const bool valid_version = !version.empty() && version.size() <= 40 &&
                             std::all_of(version.begin(), version.end(), [](char c) {
                               return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                                      c == '-';
                             });
  if (!valid_version) return FieldError("list_version", "must be 1-40 characters of [A-Za-z0-9_.-]");
  if (sealed.batch_id().empty()) return FieldError("sealed.batch_id", "required");
  const std::string batch = absl::StrCat("opt-out batch ", sealed.batch_id(), ": ");
  if (sealed.dataset() != "opt-out") return FieldError("sealed.dataset", "not \"opt-out\"", batch);
  TRELINK_ASSIGN_OR_RETURN(trelink::v1::SealedMatchKeys keys,
                           OpenFor(sealed, trelink::v1::BATCH_OPT_OUT, batch, "an opt-out list"));
  const auto slot = std::find(keys.key_names().begin(), keys.key_names().end(), "nhs");
  if (slot == keys.key_names().end()) return FieldError("sealed", "no nhs key", batch);
  const int nhs = static_cast<int>(slot - keys.key_names().begin());
  std::vector<std::string> numbers;
  for (int r = 0; r < keys.records_size(); ++r) {
    const auto& participants = keys.records(r).participants();
    if (participants.size() != 1 || participants[0].values_size() <= nhs || participants[0].values(nhs).empty()) {
      return FieldError(absl::StrCat("records[", r, "]"), "an opt-out is one keyed NHS number", batch);
    }
    numbers.push_back(participants[0].values(nhs));
  }
  trelink::v1::OptOutResponse response;
  TRELINK_ASSIGN_OR_RETURN(uint64_t in_list, store_.StageOptOut(sealed.project(), version, sealed.batch_id(), keys.key_version(), numbers));
  response.set_numbers_in_list(static_cast<uint32_t>(in_list));
  if (request.complete()) TRELINK_RETURN_IF_ERROR(store_.ActivateOptOut(sealed.project(), version));
  TRELINK_ASSIGN_OR_RETURN(std::optional<OptOutList> active, store_.ActiveOptOut(sealed.project()));
  if (active.has_value()) response.set_active_list(active->version);
  return response;
}

// Opens a sealed batch that carries no content records (a withdrawal, an
// opt-out list): within the batch limit, bound to its header, and made for
// `purpose` (`what` names it in the error).
absl::StatusOr<trelink::v1::SealedMatchKeys> BatchIngester::OpenFor(const trelink::v1::SealedBatch& sealed,
                                                                    trelink::v1::BatchPurpose purpose,
                                                                    const std::string& batch,
                                                                    absl::string_view what) const {
  if (sealed.record_count() > max_records_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(batch, "records: ", sealed.record_count(), " exceed the limit of ", max_records_));
  }
  TRELINK_ASSIGN_OR_RETURN(trelink::v1::SealedMatchKeys keys,
                           OpenSealedBatch(sealed.blob(), keys_,
                                           {sealed.project(), sealed.dataset(), sealed.batch_id(), sealed.record_count()}));
  if (keys.purpose() != purpose) {
    return FieldError("sealed", absl::StrCat("a ", PurposeName(keys.purpose()), " batch, not ", what), batch);
  }
  return keys;
}

// Record tokens are keyed hashes of a fixed size, and one record id appears
// once in a batch (the pseudonymiser refuses repeats; a batch that reaches
// the linker otherwise was not made by it).
absl::Status BatchIngester::CheckRecordTokens(const trelink::v1::SealedMatchKeys& keys, const std::string& batch) {
  absl::flat_hash_map<absl::string_view, int> first;
  for (int r = 0; r < keys.records_size(); ++r) {
    const std::string& token = keys.records(r).record_token();
    if (token.empty()) continue;
    if (token.size() != kRecordTokenBytes) {
      return FieldError(absl::StrCat("records[", r, "].record_token"), "not a record token", batch);
    }
    auto [it, fresh] = first.emplace(token, r);
    if (!fresh) {
      return FieldError(absl::StrCat("records[", r, "].record_id"), absl::StrCat("repeats records[", it->second, "]"),
                        batch);
    }
  }
  return absl::OkStatus();
}

}  // namespace trelink
