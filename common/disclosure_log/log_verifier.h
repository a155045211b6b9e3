// Offline verification of a disclosure log by an auditor who holds only the
// log, its signed checkpoint(s) and the pinned verifier key: recompute the
// Merkle tree, check the checkpoint signature and root, check consistency
// with an earlier checkpoint the auditor kept, and replay the disclosure
// policy over every released table. Every problem names the entry and check.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/disclosure_log/signed_note.h"

namespace trelink {

struct LogProblem {
  int64_t entry = -1;  // -1: about the log as a whole
  std::string check;   // "checkpoint", "consistency", "sequence", "parse", "policy"
  std::string detail;
};

struct LogVerification {
  uint64_t entries = 0;
  uint64_t released_tables = 0;
  uint64_t refusals = 0;
  uint64_t cells_checked = 0;
  uint64_t checkpoint_size = 0;
  std::string root_hex;
  std::vector<LogProblem> problems;
  bool ok() const { return problems.empty(); }
};

LogVerification VerifyDisclosureLog(const std::vector<std::string>& entries, const std::string& checkpoint_note,
                                    const NoteVerifier& verifier,
                                    const std::optional<std::string>& earlier_checkpoint = std::nullopt);

}  // namespace trelink
