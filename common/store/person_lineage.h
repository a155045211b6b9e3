// What a linkage generation says about persons: which person each
// participant is, and how each person continues the previous generation's.
// Plain values, shared by the linker (which decides them) and the store
// (which keeps them).
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace trelink {

// A participant's person in a generation.
struct PersonAssignment {
  int64_t participant_id;
  uint64_t person_id;  // random linkage id, kept across generations

  friend bool operator==(const PersonAssignment& a, const PersonAssignment& b) {
    return a.participant_id == b.participant_id && a.person_id == b.person_id;
  }
};

enum class LineageKind {
  kNew,     // a person none of whose participants were linked before
  kKept,    // a person continuing a previous person under its id
  kMerged,  // a previous person merged into another; its id retires
  kSplit,   // a person split off a previous person, under a fresh id
  kLeft,    // a previous person with no participant left (withdrawn, opted out); its id retires
};

// One line of a generation's lineage. `other_person_id` is the surviving
// person a kMerged one was merged into, or the previous person a kSplit one
// split from; 0 otherwise.
struct LineageEvent {
  uint64_t person_id;
  LineageKind kind;
  uint64_t other_person_id = 0;

  friend bool operator==(const LineageEvent& a, const LineageEvent& b) {
    return a.person_id == b.person_id && a.kind == b.kind && a.other_person_id == b.other_person_id;
  }
};

// The lower-case name the store keeps a kind under ("new", "kept", ...).
inline absl::string_view LineageKindName(LineageKind kind) {
  switch (kind) {
    case LineageKind::kNew:
      return "new";
    case LineageKind::kKept:
      return "kept";
    case LineageKind::kMerged:
      return "merged";
    case LineageKind::kSplit:
      return "split";
    case LineageKind::kLeft:
      return "left";
  }
  return "unknown";
}

}  // namespace trelink
