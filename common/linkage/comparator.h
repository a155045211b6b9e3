// A linkage model resolved against a participant table: for any pair of
// participants, the agreement level of each comparison, and the pattern
// code of all of them together (the unit Fellegi-Sunter counts).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/linkage/participant_table.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

// Per participant, the set (root) its related person belongs to, or kNoRelated.
inline constexpr uint32_t kNoRelated = UINT32_MAX;

// One comparison: per level the token slots that agree at it (a negative
// slot stands for the related person).
struct ResolvedComparison {
  std::vector<std::vector<int>> level_slots;
  size_t levels() const { return level_slots.size() + 2; }  // + disagree + missing
  size_t disagree() const { return level_slots.size(); }
  size_t missing() const { return level_slots.size() + 1; }
};

class Comparator {
 public:
  // FAILED_PRECONDITION naming the model field when a token is not carried
  // by any stored batch. `related_set` (per participant) backs the
  // related_person token; it must outlive the comparator.
  static absl::StatusOr<Comparator> Create(const ParticipantTable& table, const trelink::v1::LinkageModel& model,
                                           const std::vector<uint32_t>& related_set);

  const std::vector<ResolvedComparison>& comparisons() const { return comparisons_; }
  size_t Level(size_t c, uint32_t a, uint32_t b) const;
  uint32_t Pattern(uint32_t a, uint32_t b) const;
  std::vector<size_t> Levels(uint32_t code) const;
  // The level of comparison c in a pattern code, and c's place value in it.
  size_t LevelOf(uint32_t code, size_t c) const { return code / strides_[c] % radix_[c]; }
  size_t Stride(size_t c) const { return strides_[c]; }
  size_t PatternCount() const;
  // The comparisons that read related_person (they change as sets grow).
  const std::vector<size_t>& related_comparisons() const { return related_comparisons_; }

 private:
  Comparator(const ParticipantTable& table, const std::vector<uint32_t>& related_set)
      : table_(&table), related_set_(&related_set) {}
  const ParticipantTable* table_;
  const std::vector<uint32_t>* related_set_;
  std::vector<ResolvedComparison> comparisons_;
  std::vector<size_t> radix_;
  std::vector<size_t> strides_;
  std::vector<size_t> related_comparisons_;
};

// For each participant of a two-participant record (mother and baby, child
// and parent), the other one; kNoRelated otherwise.
std::vector<uint32_t> RelatedParticipants(const ParticipantTable& table);

}  // namespace trelink
