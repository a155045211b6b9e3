// Every participant of a project in memory, in the compact form linkage
// works on: per participant its dataset, role and record, and one 64-bit
// fingerprint per key slot (the first 8 bytes of the keyed hash; 0 means the
// key was not formed). Sixty-four bits keep the table small at tens of
// millions of participants; an accidental collision is ~2^-64 per comparison.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/store/linked_store.h"

namespace trelink {

class ParticipantTable {
 public:
  // The key slots are fixed up front by name; keys a batch does not carry
  // stay 0 for its participants.
  explicit ParticipantTable(std::vector<std::string> key_names);

  void Add(const ParticipantRow& row);

  size_t size() const { return participant_ids_.size(); }
  // Slot of a key name, or -1.
  int Slot(absl::string_view key_name) const;
  const std::vector<std::string>& key_names() const { return key_names_; }
  const std::vector<std::string>& datasets() const { return datasets_; }

  uint64_t Key(size_t participant, int slot) const { return keys_[participant * width_ + static_cast<size_t>(slot)]; }

  // Where two participants of one record carry the same value of the key
  // `evidence` (a mother's NHS number keyed on her baby's row), at least one
  // of them is wrong and neither can be trusted: clears the keys `slots` of
  // both. Returns the number of records affected.
  uint64_t DistrustKeysSharedWithinRecords(const std::string& evidence, const std::vector<std::string>& slots);

  // Clears the keys `names` of every participant (as if never formed).
  void ClearKeys(const std::vector<std::string>& names);

  // "dataset.role" of p, and the number of distinct ones (labels are dense
  // indexes dataset * roles + role).
  std::string Label(size_t p) const { return datasets_[dataset_[p]] + "." + roles_[role_[p]]; }
  int64_t participant_id(size_t p) const { return participant_ids_[p]; }
  int64_t record_id(size_t p) const { return record_ids_[p]; }
  uint16_t dataset(size_t p) const { return dataset_[p]; }
  const std::string& role(size_t p) const { return roles_[role_[p]]; }
  uint16_t role_index(size_t p) const { return role_[p]; }
  size_t role_count() const { return roles_.size(); }
  // The event of p's record.
  const std::string& event(size_t p) const { return events_[event_[p]]; }

 private:
  std::vector<std::string> key_names_;
  absl::flat_hash_map<std::string, int> slots_;
  size_t width_;
  std::vector<uint64_t> keys_;
  std::vector<int64_t> participant_ids_;
  std::vector<int64_t> record_ids_;
  std::vector<uint16_t> dataset_;
  std::vector<uint16_t> role_;
  std::vector<std::string> roles_;
  absl::flat_hash_map<std::string, uint16_t> role_index_;
  std::vector<uint16_t> event_;
  std::vector<std::string> events_;
  absl::flat_hash_map<std::string, uint16_t> event_index_;
  std::vector<std::string> datasets_;
  absl::flat_hash_map<std::string, uint16_t> dataset_index_;
  // Per batch key-name layout -> slot, cached by the layout's address.
  absl::flat_hash_map<const std::string*, std::vector<int>> layouts_;
};

}  // namespace trelink
