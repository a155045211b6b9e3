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
  // `subgroup_attributes` are content attributes kept per participant (as
  // small value indexes), for reporting linkage errors by subgroup.
  explicit ParticipantTable(std::vector<std::string> key_names, std::vector<std::string> subgroup_attributes = {});

  void Add(const ParticipantRow& row);
  // Call after a load: Add caches key layouts by the address of the row's
  // key names, which die with the load.
  void ForgetLayouts() { layouts_.clear(); }

  size_t size() const { return participant_ids_.size(); }
  // Slot of a key name, or -1.
  int Slot(absl::string_view key_name) const;
  const std::vector<std::string>& key_names() const { return key_names_; }
  const std::vector<std::string>& datasets() const { return datasets_; }

  uint64_t Key(size_t participant, int slot) const { return keys_[participant * width_ + static_cast<size_t>(slot)]; }

  // Where two participants of one record carry the same value of the key
  // `evidence` (a mother's NHS number keyed on her baby's row), at least one
  // of them is wrong and neither can be trusted: clears the keys `slots` of
  // both, for the participants from `from` on (those added since an earlier
  // call). Returns the number of live records so affected in the table.
  uint64_t DistrustKeysSharedWithinRecords(const std::string& evidence, const std::vector<std::string>& slots,
                                           size_t from = 0);

  // A key as added, before DistrustKeysSharedWithinRecords cleared it.
  uint64_t OriginalKey(size_t p, int slot) const;

  // A participant whose record was replaced or withdrawn since it was
  // added (an incremental linkage keeps the table): its keys are cleared,
  // so it links to nothing, and counts leave it out.
  void Retire(size_t p);
  bool retired(size_t p) const { return retired_[p] != 0; }
  // The index of a participant id, or -1 (ids are added in increasing order).
  int64_t IndexOf(int64_t participant_id) const;

  // Clears the keys `names` of every participant (as if never formed).
  void ClearKeys(const std::vector<std::string>& names);

  // Roughly the heap memory the table holds (its per-participant arrays).
  size_t MemoryBytes() const;

  const std::vector<std::string>& subgroup_attributes() const { return subgroup_attributes_; }
  // The value of subgroup attribute `a` for p, or "" when the record has none.
  const std::string& SubgroupValue(size_t p, size_t a) const {
    return subgroup_values_[a][subgroup_[p * subgroup_attributes_.size() + a]];
  }

  // "dataset.role" of p.
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
  void AddSubgroups(absl::string_view content);

  std::vector<std::string> key_names_;
  absl::flat_hash_map<std::string, int> slots_;
  size_t width_;
  std::vector<uint64_t> keys_;
  std::vector<int64_t> participant_ids_;
  std::vector<int64_t> record_ids_;
  std::vector<uint16_t> dataset_;
  std::vector<uint8_t> retired_;
  std::vector<uint8_t> distrusted_;  // keys cleared by DistrustKeysSharedWithinRecords
  absl::flat_hash_map<size_t, uint64_t> cleared_;  // their values, by p * width_ + slot
  std::vector<uint16_t> role_;
  std::vector<std::string> roles_;
  absl::flat_hash_map<std::string, uint16_t> role_index_;
  std::vector<std::string> subgroup_attributes_;
  std::vector<std::vector<std::string>> subgroup_values_;  // per attribute; index 0 is ""
  std::vector<absl::flat_hash_map<std::string, uint16_t>> subgroup_index_;
  std::vector<uint16_t> subgroup_;  // per participant and attribute
  std::vector<uint16_t> event_;
  std::vector<std::string> events_;
  absl::flat_hash_map<std::string, uint16_t> event_index_;
  std::vector<std::string> datasets_;
  absl::flat_hash_map<std::string, uint16_t> dataset_index_;
  // Per batch key-name layout -> slot, cached by the layout's address.
  absl::flat_hash_map<const std::string*, std::vector<int>> layouts_;
};

}  // namespace trelink
