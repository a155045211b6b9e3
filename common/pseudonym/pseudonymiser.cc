#include "common/pseudonym/pseudonymiser.h"

#include <algorithm>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/config/proto_bytes.h"
#include "common/crypto/keyed_hash.h"
#include "common/crypto/sealed_batch.h"
#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/participant_fields.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

using trelink::v1::KeySpec;
using trelink::v1::PseudonymiseBatchRequest;
using trelink::v1::PseudonymiseBatchResponse;

// Project, dataset and role names are identifiers of things, not people:
// short, printable, no separators that could confuse logs or paths.
bool IsValidLabel(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.' || c == ':')) {
      return false;
    }
  }
  return true;
}

absl::Status CheckBatchHeader(const PseudonymiseBatchRequest& request, const PseudonymiserLimits& limits) {
  if (!IsValidLabel(request.batch_id(), 128)) {
    return FieldError("batch_id", "must be 1-128 characters of [A-Za-z0-9_.:-]");
  }
  const std::string batch = absl::StrCat("batch ", request.batch_id(), ": ");
  if (!IsValidLabel(request.project(), 64)) {
    return FieldError("project", "must be 1-64 characters of [A-Za-z0-9_.:-]", batch);
  }
  if (!IsValidLabel(request.dataset(), 64)) {
    return FieldError("dataset", "must be 1-64 characters of [A-Za-z0-9_.:-]", batch);
  }
  if (request.records().empty()) return FieldError("records", "batch is empty", batch);
  if (static_cast<uint32_t>(request.records_size()) > limits.max_records_per_batch) {
    return FieldError("records",
                      absl::StrCat(request.records_size(), " records exceed the limit of ",
                                   limits.max_records_per_batch, " per batch"),
                      batch, absl::StatusCode::kResourceExhausted);
  }
  return absl::OkStatus();
}

// A provider's record id is opaque, but printable: no control characters
// that could corrupt a log line or a CSV.
bool IsValidRecordId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

constexpr char kOptOutDataset[] = "opt-out";

// An opt-out list is NHS numbers and nothing else: one participant per
// record, role "opt-out", no other identifier, no record id.
absl::Status CheckOptOutRecords(const PseudonymiseBatchRequest& request) {
  const std::string batch = absl::StrCat("batch ", request.batch_id(), ": ");
  for (int r = 0; r < request.records_size(); ++r) {
    const auto& record = request.records(r);
    const std::string where = absl::StrCat("records[", r, "]");
    if (record.participants_size() != 1 || record.participants(0).role() != kOptOutDataset ||
        !record.record_id().empty()) {
      return FieldError(where, "an opt-out record has one participant, role \"opt-out\", and no record_id", batch);
    }
    trelink::v1::Identifiers only_nhs;
    only_nhs.set_nhs_number(record.participants(0).identifiers().nhs_number());
    if (!google::protobuf::util::MessageDifferencer::Equals(only_nhs, record.participants(0).identifiers())) {
      return FieldError(absl::StrCat(where, ".participants[0].identifiers"), "an opt-out carries an NHS number only",
                        batch);
    }
  }
  return absl::OkStatus();
}

// The dataset says what a batch is for as much as the purpose does: opt-out
// lists have their own, and records never use it.
absl::Status CheckPurpose(const PseudonymiseBatchRequest& request) {
  const bool opt_out = request.purpose() == trelink::v1::BATCH_OPT_OUT;
  if (opt_out != (request.dataset() == kOptOutDataset)) {
    return FieldError("dataset", "\"opt-out\" is for opt-out lists, and only it is",
                      absl::StrCat("batch ", request.batch_id(), ": "));
  }
  return opt_out ? CheckOptOutRecords(request) : absl::OkStatus();
}

absl::StatusOr<absl::CivilDay> ParseIsoDay(const std::string& text, const std::string& field) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not an ISO date YYYY-MM-DD"));
  }
  return day;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pseudonymiser>> Pseudonymiser::Create(MasterKeyset keyset, LinkerPublicKey linker,
                                                                     trelink::v1::KeySchema schema,
                                                                     PseudonymiserLimits limits, const Clock& clock) {
  TRELINK_RETURN_IF_ERROR(ValidateKeySchema(schema));
  if (limits.max_records_per_batch == 0 || limits.max_records_per_batch > 1000000) {
    return absl::InvalidArgumentError("max_records_per_batch: must be 1..1000000");
  }
  if (limits.max_participants_per_record == 0) {
    return absl::InvalidArgumentError("max_participants_per_record: must be positive");
  }
  return std::unique_ptr<Pseudonymiser>(
      new Pseudonymiser(std::move(keyset), linker, std::move(schema), limits, clock));
}

absl::StatusOr<std::unique_ptr<Pseudonymiser>> Pseudonymiser::FromConfig(
    const trelink::v1::PseudonymiserConfig& config, const Clock& clock) {
  if (config.master_key_file().empty()) return absl::InvalidArgumentError("master_key_file: required");
  if (config.linker_public_key_file().empty()) return absl::InvalidArgumentError("linker_public_key_file: required");
  TRELINK_ASSIGN_OR_RETURN(MasterKeyset keyset, MasterKeyset::Load(config.master_key_file()));
  TRELINK_ASSIGN_OR_RETURN(LinkerPublicKey linker, LinkerPublicKey::Load(config.linker_public_key_file()));
  PseudonymiserLimits limits;
  if (config.max_records_per_batch() != 0) limits.max_records_per_batch = config.max_records_per_batch();
  if (!config.earliest_date_of_birth().empty()) {
    TRELINK_ASSIGN_OR_RETURN(limits.earliest_date_of_birth,
                             ParseIsoDay(config.earliest_date_of_birth(), "earliest_date_of_birth"));
  }
  trelink::v1::KeySchema schema = config.has_key_schema() ? config.key_schema() : DefaultKeySchema();
  return Create(std::move(keyset), linker, std::move(schema), limits, clock);
}

absl::StatusOr<PseudonymiseBatchResponse> Pseudonymiser::PseudonymiseBatch(
    const PseudonymiseBatchRequest& request) const {
  TRELINK_RETURN_IF_ERROR(CheckBatchHeader(request, limits_));
  const uint32_t version = keyset_.primary_version();
  TRELINK_ASSIGN_OR_RETURN(ProjectKey key, keyset_.DeriveProjectKey(request.project(), version));

  // The batch's keys live on an arena: thousands of messages and strings,
  // freed together once the batch is sealed.
  google::protobuf::Arena arena(BatchArenaOptions());
  trelink::v1::SealedMatchKeys& sealed = *google::protobuf::Arena::CreateMessage<trelink::v1::SealedMatchKeys>(&arena);
  sealed.set_project(request.project());
  sealed.set_dataset(request.dataset());
  sealed.set_batch_id(request.batch_id());
  sealed.set_record_count(static_cast<uint32_t>(request.records_size()));
  sealed.set_key_version(version);
  sealed.set_purpose(request.purpose());
  TRELINK_RETURN_IF_ERROR(CheckPurpose(request));
  // "@" cannot start a key name, so no key of the schema shares the domain.
  const KeyedHasher record_hasher(key, "@record", KeyedHasher::Kind::kMatchKey);
  std::vector<std::unique_ptr<KeyedHasher>> earlier_record_hashers;
  for (uint32_t v : keyset_.versions()) {
    if (v == version) continue;
    TRELINK_ASSIGN_OR_RETURN(ProjectKey earlier, keyset_.DeriveProjectKey(request.project(), v));
    earlier_record_hashers.push_back(std::make_unique<KeyedHasher>(earlier, "@record", KeyedHasher::Kind::kMatchKey));
  }
  absl::flat_hash_map<absl::string_view, int> record_ids;
  std::vector<std::unique_ptr<KeyedHasher>> hashers;
  for (const KeySpec& spec : schema_.keys()) {
    sealed.add_key_names(spec.name());
    sealed.add_key_kinds(spec.kind());
    hashers.push_back(std::make_unique<KeyedHasher>(
        key, spec.name(),
        spec.kind() == KeySpec::MATCH_KEY ? KeyedHasher::Kind::kMatchKey : KeyedHasher::Kind::kFieldToken));
  }

  const absl::CivilDay today = absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  const DateRange dob_range{limits_.earliest_date_of_birth, today};
  trelink::v1::BatchStats stats;
  stats.set_records(static_cast<uint32_t>(request.records_size()));
  ParticipantFields fields;
  std::vector<absl::string_view> parts;
  std::vector<std::string> others;
  const std::string batch = absl::StrCat("batch ", request.batch_id(), ": ");
  sealed.mutable_records()->Reserve(request.records_size());
  for (int r = 0; r < request.records_size(); ++r) {
    const auto& record = request.records(r);
    auto where = [&](int p) {
      return absl::StrCat("records[", r, "]", p < 0 ? "" : absl::StrCat(".participants[", p, "]"));
    };
    trelink::v1::RecordKeys* record_keys = sealed.add_records();
    if (!record.record_id().empty()) {
      if (!IsValidRecordId(record.record_id())) {
        return FieldError(where(-1) + ".record_id", "must be 1-128 characters, none of them a control character",
                          batch);
      }
      auto [first, fresh] = record_ids.emplace(record.record_id(), r);
      if (!fresh) {
        return FieldError(where(-1) + ".record_id", absl::StrCat("repeats records[", first->second, "]"), batch);
      }
      const absl::string_view parts[] = {request.dataset(), record.record_id()};
      std::string* token = record_keys->mutable_record_token();
      token->resize(record_hasher.out_len());
      record_hasher.Hash(parts, reinterpret_cast<uint8_t*>(token->data()));
      for (const auto& earlier : earlier_record_hashers) {
        std::string* earlier_token = record_keys->add_earlier_record_tokens();
        earlier_token->resize(earlier->out_len());
        earlier->Hash(parts, reinterpret_cast<uint8_t*>(earlier_token->data()));
      }
    }
    if (request.purpose() == trelink::v1::BATCH_WITHDRAWAL) {
      if (record.record_id().empty() || !record.participants().empty()) {
        return FieldError(where(-1), "a withdrawal names a record_id and no participants", batch);
      }
      continue;
    }
    if (record.participants().empty()) return FieldError(where(-1) + ".participants", "none", batch);
    if (static_cast<uint32_t>(record.participants_size()) > limits_.max_participants_per_record) {
      return FieldError(where(-1) + ".participants", absl::StrCat("more than ", limits_.max_participants_per_record),
                        batch);
    }
    for (int p = 0; p < record.participants_size(); ++p) {
      const auto& participant = record.participants(p);
      if (!IsValidLabel(participant.role(), 32)) {
        return FieldError(where(p) + ".role", "must be 1-32 characters of [A-Za-z0-9_.:-]", batch);
      }
      for (const auto& [name, value] : participant.identifiers().other()) {
        if (other_names_.count(name) == 0) {
          return FieldError(where(p) + ".identifiers.other",
                            absl::StrCat("\"", name, "\" is not an identifier of the key schema"), batch);
        }
      }
      NormalisationNotes notes;
      if (absl::Status s = fields.Assign(participant.identifiers(), dob_range, notes); !s.ok()) {
        return NestedFieldError(s, where(p) + ".identifiers", batch);
      }
      if (request.purpose() == trelink::v1::BATCH_OPT_OUT && (notes.nhs_number_invalid || notes.nhs_number_missing)) {
        return FieldError(where(p) + ".identifiers.nhs_number", "an opt-out needs a valid NHS number", batch);
      }
      stats.set_participants(stats.participants() + 1);
      if (notes.nhs_number_invalid) stats.set_invalid_nhs_numbers(stats.invalid_nhs_numbers() + 1);
      if (notes.nhs_number_missing) stats.set_missing_nhs_numbers(stats.missing_nhs_numbers() + 1);

      trelink::v1::ParticipantKeys* keys = record_keys->add_participants();
      keys->set_role(participant.role());
      keys->mutable_values()->Reserve(schema_.keys_size());
      for (int k = 0; k < schema_.keys_size(); ++k) {
        parts.clear();
        bool complete = true;
        for (int f : schema_.keys(k).fields()) {
          absl::string_view value = fields.Get(static_cast<trelink::v1::IdentifierField>(f));
          complete = complete && !value.empty();
          parts.push_back(value);
        }
        others.clear();
        for (const auto& other : schema_.keys(k).other_fields()) others.push_back(fields.Other(other));
        for (const std::string& value : others) {
          complete = complete && !value.empty();
          parts.push_back(value);
        }
        std::string* value = keys->add_values();
        if (!complete) {
          stats.set_keys_not_formed(stats.keys_not_formed() + 1);
          continue;
        }
        value->resize(hashers[k]->out_len());
        hashers[k]->Hash(parts, reinterpret_cast<uint8_t*>(value->data()));
      }
    }
  }

  TRELINK_ASSIGN_OR_RETURN(std::string blob, SealMatchKeys(sealed, linker_));
  PseudonymiseBatchResponse response;
  trelink::v1::SealedBatch* out = response.mutable_sealed();
  out->set_project(request.project());
  out->set_dataset(request.dataset());
  out->set_batch_id(request.batch_id());
  out->set_record_count(sealed.record_count());
  out->set_key_version(version);
  out->set_recipient_fingerprint(linker_.Fingerprint());
  out->set_blob(std::move(blob));
  *response.mutable_stats() = stats;
  return response;
}

trelink::v1::GetKeyInfoResponse Pseudonymiser::KeyInfo() const {
  trelink::v1::GetKeyInfoResponse info;
  for (uint32_t v : keyset_.versions()) {
    auto* version = info.add_versions();
    version->set_version(v);
    version->set_primary(v == keyset_.primary_version());
  }
  info.set_linker_key_fingerprint(linker_.Fingerprint());
  for (const KeySpec& spec : schema_.keys()) info.add_key_names(spec.name());
  info.set_max_records_per_batch(limits_.max_records_per_batch);
  return info;
}

}  // namespace trelink
