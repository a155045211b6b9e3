// Candidate pairs for the probabilistic pass: participants agreeing on
// every token of a blocking rule. Blocks larger than a cap are skipped (a
// default date, a placeholder); pairs within one record are left out (a
// mother and her baby are never the same person).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

#include "common/linkage/comparator.h"
#include "common/linkage/participant_table.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

struct CandidatePairs {
  // (a << 32) | b with a < b, sorted, each pair once.
  std::vector<uint64_t> pairs;
  // Per pair, bit r set when blocking rule r proposes it (at most 32 rules).
  std::vector<uint32_t> rules;
};

// The rules run on threads of their own. Rules naming a token no
// participant carries propose nothing (callers check tokens beforehand).
// The token "related_person" blocks on `related_set` (per participant, the
// person its related participant — a baby's mother — is so far, or
// kNoRelated): the babies of one mother with one date of birth.
// With `fresh` (per participant), only the pairs with a fresh participant
// (an incremental linkage's new and released participants); blocks are
// capped by their full size all the same.
CandidatePairs BlockPairs(const ParticipantTable& table,
                          const google::protobuf::RepeatedPtrField<trelink::v1::BlockingRule>& rules,
                          uint32_t max_block, absl::Span<const uint32_t> related_set = {},
                          const std::vector<bool>* fresh = nullptr);

inline uint32_t PairFirst(uint64_t pair) { return static_cast<uint32_t>(pair >> 32); }
inline uint32_t PairSecond(uint64_t pair) { return static_cast<uint32_t>(pair); }

}  // namespace trelink
