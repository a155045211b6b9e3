#include "common/linkage/participant_table.h"

#include <cstring>

namespace trelink {

ParticipantTable::ParticipantTable(std::vector<std::string> key_names)
    : key_names_(std::move(key_names)), width_(key_names_.size()) {
  for (size_t i = 0; i < key_names_.size(); ++i) slots_[key_names_[i]] = static_cast<int>(i);
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
  const auto& values = row.keys.values();
  for (int k = 0; k < values.size() && k < static_cast<int>(layout->second.size()); ++k) {
    const int slot = layout->second[static_cast<size_t>(k)];
    const std::string& value = values.Get(k);
    if (slot < 0 || value.size() < 8) continue;
    uint64_t fingerprint = 0;
    memcpy(&fingerprint, value.data(), sizeof fingerprint);
    keys_[base + static_cast<size_t>(slot)] = fingerprint == 0 ? 1 : fingerprint;
  }
  auto [dataset, added] = dataset_index_.try_emplace(row.dataset, static_cast<uint16_t>(datasets_.size()));
  if (added) datasets_.emplace_back(row.dataset);
  auto [role, new_role] = role_index_.try_emplace(row.role, static_cast<uint16_t>(roles_.size()));
  if (new_role) roles_.emplace_back(row.role);
  role_.push_back(role->second);
  participant_ids_.push_back(row.participant_id);
  record_ids_.push_back(row.record_id);
  dataset_.push_back(dataset->second);
}

}  // namespace trelink
