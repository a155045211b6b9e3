// Offline verification of a disclosure log by an auditor who holds only the
// log, its signed checkpoint(s) and the pinned verifier key: recompute the
// Merkle tree, check the checkpoint signature and root, check consistency
// with an earlier checkpoint the auditor kept, replay the disclosure policy
// over every released table, and replay the dp budget ledger (the privacy
// charges, in log order). Every problem names the entry and check.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/disclosure_log/signed_note.h"

namespace trelink {

struct LogProblem {
  int64_t entry = -1;  // -1: about the log as a whole
  std::string check;   // "checkpoint", "consistency", "sequence", "parse", "policy", "budget"
  std::string detail;
};

// A dp project's privacy budget as the log's charges add up.
struct ProjectBudget {
  uint64_t spent_micro = 0;   // epsilon spent, in millionths
  uint64_t budget_micro = 0;  // the cap of the project's latest policy
  uint64_t dp_answers = 0;    // released dp tables, repeats included
  uint64_t repeats = 0;       // answered again from an earlier entry, at no cost
  // The first entry whose charge did not replay, or -1. The ledger cannot
  // be trusted past it, so the project's later entries are not replayed.
  int64_t broken_at = -1;
};

struct LogVerification {
  uint64_t entries = 0;
  uint64_t released_tables = 0;
  uint64_t refusals = 0;
  uint64_t cells_checked = 0;
  uint64_t checkpoint_size = 0;
  std::string root_hex;
  std::map<std::string, ProjectBudget> budgets;  // dp projects only
  std::vector<LogProblem> problems;
  bool ok() const { return problems.empty(); }
};

LogVerification VerifyDisclosureLog(const std::vector<std::string>& entries, const std::string& checkpoint_note,
                                    const NoteVerifier& verifier,
                                    const std::optional<std::string>& earlier_checkpoint = std::nullopt);

}  // namespace trelink
