#include "common/linkage/participant_table.h"

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
}

uint64_t ParticipantTable::DistrustKeysSharedWithinRecords(const std::string& evidence,
                                                           const std::vector<std::string>& slots) {
  const int evidence_slot = Slot(evidence);
  if (evidence_slot < 0) return 0;
  uint64_t records = 0;
  // A record's participants are adjacent (they are stored and read in
  // order), so it is enough to compare each with those just before it of
  // the same record.
  for (size_t p = 1; p < size(); ++p) {
    bool shared = false;
    for (size_t q = p; q-- > 0 && record_ids_[q] == record_ids_[p];) {
      const uint64_t v = Key(p, evidence_slot);
      if (v == 0 || v != Key(q, evidence_slot)) continue;
      shared = true;
      for (const std::string& name : slots) {
        const int slot = Slot(name);
        if (slot < 0) continue;
        keys_[p * width_ + static_cast<size_t>(slot)] = 0;
        keys_[q * width_ + static_cast<size_t>(slot)] = 0;
      }
    }
    if (shared) ++records;
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
