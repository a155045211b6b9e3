#include "common/linkage/participant_table.h"

#include <algorithm>
#include <cstring>

#include "trelink/v1/linkage.pb.h"

namespace trelink {

ParticipantTable::ParticipantTable(std::vector<std::string> key_names, std::vector<std::string> subgroup_attributes)
    : key_names_(std::move(key_names)),
      width_(key_names_.size()),
      subgroup_attributes_(std::move(subgroup_attributes)),
      subgroup_values_(subgroup_attributes_.size(), std::vector<std::string>{""}),
      subgroup_index_(subgroup_attributes_.size()) {
  for (size_t i = 0; i < key_names_.size(); ++i) slots_[key_names_[i]] = static_cast<int>(i);
}

void ParticipantTable::AddSubgroups(absl::string_view content) {
  trelink::v1::ContentRecord record;
  if (!content.empty()) record.ParseFromArray(content.data(), static_cast<int>(content.size()));
  for (size_t a = 0; a < subgroup_attributes_.size(); ++a) {
    auto it = record.attributes().find(subgroup_attributes_[a]);
    if (it == record.attributes().end() || subgroup_values_[a].size() >= 0xffff) {
      subgroup_.push_back(0);
      continue;
    }
    auto [index, fresh] = subgroup_index_[a].try_emplace(it->second, static_cast<uint16_t>(subgroup_values_[a].size()));
    if (fresh) subgroup_values_[a].push_back(it->second);
    subgroup_.push_back(index->second);
  }
}

int ParticipantTable::Slot(absl::string_view key_name) const {
  auto it = slots_.find(key_name);
  return it == slots_.end() ? -1 : it->second;
}

void ParticipantTable::Add(const ParticipantRow& row) {
  auto [layout, fresh] = layouts_.try_emplace(row.key_names.data());
  if (fresh) {
    for (const std::string& name : row.key_names) layout->second.push_back(Slot(name));
  }
  const size_t base = keys_.size();
  keys_.resize(base + width_, 0);
  // Walk the ParticipantKeys wire format: field 2 ("values") is repeated
  // length-delimited; everything else is skipped.
  const auto* p = reinterpret_cast<const uint8_t*>(row.keys.data());
  const auto* end = p + row.keys.size();
  auto varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
      const uint8_t byte = *p++;
      out |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  size_t k = 0;
  while (p < end) {
    uint64_t tag = 0, length = 0;
    if (!varint(tag) || (tag & 7) != 2 || !varint(length) || length > static_cast<uint64_t>(end - p)) break;
    if ((tag >> 3) == 2) {
      const int slot = k < layout->second.size() ? layout->second[k] : -1;
      if (slot >= 0 && length >= 8) {
        uint64_t fingerprint = 0;
        memcpy(&fingerprint, p, sizeof fingerprint);
        keys_[base + static_cast<size_t>(slot)] = fingerprint == 0 ? 1 : fingerprint;
      }
      ++k;
    }
    p += length;
  }
  if (!subgroup_attributes_.empty()) AddSubgroups(row.content);
  auto [dataset, added] = dataset_index_.try_emplace(row.dataset, static_cast<uint16_t>(datasets_.size()));
  if (added) datasets_.emplace_back(row.dataset);
  auto [role, new_role] = role_index_.try_emplace(row.role, static_cast<uint16_t>(roles_.size()));
  if (new_role) roles_.emplace_back(row.role);
  role_.push_back(role->second);
  auto [event, new_event] = event_index_.try_emplace(row.event, static_cast<uint16_t>(events_.size()));
  if (new_event) events_.emplace_back(row.event);
  event_.push_back(event->second);
  participant_ids_.push_back(row.participant_id);
  record_ids_.push_back(row.record_id);
  dataset_.push_back(dataset->second);
  retired_.push_back(0);
  distrusted_.push_back(0);
}

void ParticipantTable::Retire(size_t p) {
  std::fill(keys_.begin() + static_cast<ptrdiff_t>(p * width_), keys_.begin() + static_cast<ptrdiff_t>((p + 1) * width_),
            0);
  retired_[p] = 1;
  distrusted_[p] = 0;  // its cleared keys are gone for good
}

size_t ParticipantTable::MemoryBytes() const {
  auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  return bytes(keys_) + bytes(participant_ids_) + bytes(record_ids_) + bytes(dataset_) + bytes(role_) +
         bytes(event_) + bytes(retired_) + bytes(distrusted_) + bytes(subgroup_) + cleared_.size() * 16;
}

uint64_t ParticipantTable::OriginalKey(size_t p, int slot) const {
  const size_t at = p * width_ + static_cast<size_t>(slot);
  if (keys_[at] != 0 || distrusted_[p] == 0) return keys_[at];
  auto it = cleared_.find(at);
  return it == cleared_.end() ? 0 : it->second;
}

int64_t ParticipantTable::IndexOf(int64_t participant_id) const {
  auto it = std::lower_bound(participant_ids_.begin(), participant_ids_.end(), participant_id);
  return it != participant_ids_.end() && *it == participant_id ? it - participant_ids_.begin() : -1;
}

uint64_t ParticipantTable::DistrustKeysSharedWithinRecords(const std::string& evidence,
                                                           const std::vector<std::string>& slots, size_t from) {
  const int evidence_slot = Slot(evidence);
  if (evidence_slot < 0) return 0;
  // A record's participants are adjacent (they are stored and read in
  // order, and a record is added whole), so it is enough to compare each
  // with those just before it of the same record.
  for (size_t p = std::max<size_t>(from, 1); p < size(); ++p) {
    for (size_t q = p; q-- > 0 && record_ids_[q] == record_ids_[p];) {
      const uint64_t v = Key(p, evidence_slot);
      if (v == 0 || v != Key(q, evidence_slot)) continue;
      distrusted_[p] = distrusted_[q] = 1;
      for (const std::string& name : slots) {
        const int slot = Slot(name);
        if (slot < 0) continue;
        for (size_t at : {p * width_ + static_cast<size_t>(slot), q * width_ + static_cast<size_t>(slot)}) {
          if (keys_[at] != 0) cleared_.emplace(at, keys_[at]);
          keys_[at] = 0;
        }
      }
    }
  }
  uint64_t records = 0;
  for (size_t p = 0; p < size(); ++p) {
    const bool first_of_record = p == 0 || record_ids_[p - 1] != record_ids_[p];
    if (first_of_record && !retired(p)) {
      for (size_t q = p; q < size() && record_ids_[q] == record_ids_[p]; ++q) {
        if (distrusted_[q] != 0) {
          ++records;
          break;
        }
      }
    }
  }
  return records;
}

void ParticipantTable::ClearKeys(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const int slot = Slot(name);
    if (slot < 0) continue;
    for (size_t p = 0; p < size(); ++p) keys_[p * width_ + static_cast<size_t>(slot)] = 0;
  }
}

}  // namespace trelink
