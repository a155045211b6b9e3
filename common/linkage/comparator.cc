#include "common/linkage/comparator.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/linkage/linkage_model.h"

namespace trelink {

constexpr int kRelatedSlot = -1;

absl::StatusOr<Comparator> Comparator::Create(const ParticipantTable& table, const trelink::v1::LinkageModel& model,
                                              const std::vector<uint32_t>& related_set) {
  Comparator comparator(table, related_set);
  for (int c = 0; c < model.comparisons_size(); ++c) {
    ResolvedComparison resolved;
    for (int l = 0; l < model.comparisons(c).levels_size(); ++l) {
      std::vector<int> slots;
      for (const std::string& token : model.comparisons(c).levels(l).tokens()) {
        if (token == kRelatedPersonToken) {
          slots.push_back(kRelatedSlot);
          const size_t index = comparator.comparisons_.size();
          auto& related = comparator.related_comparisons_;
          if (related.empty() || related.back() != index) related.push_back(index);
          continue;
        }
        const int slot = table.Slot(token);
        if (slot < 0) {
          return absl::FailedPreconditionError(absl::StrCat("linkage.model.comparisons[", c, "].levels[", l,
                                                            "].tokens: no stored batch carries the token \"", token,
                                                            "\""));
        }
        slots.push_back(slot);
      }
      resolved.level_slots.push_back(std::move(slots));
    }
    comparator.radix_.push_back(resolved.levels());
    comparator.comparisons_.push_back(std::move(resolved));
  }
  // Place values: the last comparison varies fastest (as Pattern builds codes).
  comparator.strides_.assign(comparator.radix_.size(), 1);
  for (size_t c = comparator.radix_.size(); c-- > 1;) {
    comparator.strides_[c - 1] = comparator.strides_[c] * comparator.radix_[c];
  }
  return comparator;
}

size_t Comparator::Level(size_t c, uint32_t a, uint32_t b) const {
  const ResolvedComparison& comparison = comparisons_[c];
  bool any_present = false;
  for (size_t l = 0; l < comparison.level_slots.size(); ++l) {
    for (int slot : comparison.level_slots[l]) {
      uint64_t x, y;
      if (slot == kRelatedSlot) {
        x = (*related_set_)[a] == kNoRelated ? 0 : uint64_t{(*related_set_)[a]} + 1;
        y = (*related_set_)[b] == kNoRelated ? 0 : uint64_t{(*related_set_)[b]} + 1;
      } else {
        x = table_->Key(a, slot);
        y = table_->Key(b, slot);
      }
      if (x == 0 || y == 0) continue;
      any_present = true;
      if (x == y) return l;
    }
  }
  return any_present ? comparison.disagree() : comparison.missing();
}

uint32_t Comparator::Pattern(uint32_t a, uint32_t b) const {
  uint32_t code = 0;
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    code = code * static_cast<uint32_t>(radix_[c]) + static_cast<uint32_t>(Level(c, a, b));
  }
  return code;
}

std::vector<size_t> Comparator::Levels(uint32_t code) const {
  std::vector<size_t> levels(comparisons_.size());
  for (size_t c = comparisons_.size(); c-- > 0;) {
    levels[c] = code % radix_[c];
    code /= static_cast<uint32_t>(radix_[c]);
  }
  return levels;
}

size_t Comparator::PatternCount() const {
  size_t n = 1;
  for (size_t r : radix_) n *= r;
  return n;
}

std::vector<uint32_t> RelatedParticipants(const ParticipantTable& table) {
  // Stored tables hold each record's participants side by side, in record
  // order: one sequential pass then finds the two-participant records.
  bool in_record_order = true;
  for (uint32_t p = 1; p < table.size() && in_record_order; ++p) {
    in_record_order = table.record_id(p - 1) <= table.record_id(p);
  }
  if (in_record_order) {
    std::vector<uint32_t> related(table.size(), kNoRelated);
    for (uint32_t p = 0; p < table.size();) {
      uint32_t end = p;
      while (end < table.size() && table.record_id(end) == table.record_id(p)) ++end;
      if (end - p == 2) {
        related[p] = p + 1;
        related[p + 1] = p;
      }
      p = end;
    }
    return related;
  }
  absl::flat_hash_map<int64_t, std::pair<uint32_t, uint32_t>> by_record;  // first participant, count
  for (uint32_t p = 0; p < table.size(); ++p) {
    auto [it, fresh] = by_record.try_emplace(table.record_id(p), p, 0);
    it->second.second++;
  }
  std::vector<uint32_t> related(table.size(), kNoRelated);
  for (uint32_t p = 0; p < table.size(); ++p) {
    const auto& [first, count] = by_record[table.record_id(p)];
    if (count != 2 || first == p) continue;
    related[p] = first;
    related[first] = p;
  }
  return related;
}

}  // namespace trelink
