#include "common/disclosure_log/log_verifier.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/container/flat_hash_map.h"
#include "common/concurrency/parallel.h"
#include "google/protobuf/arena.h"
#include "common/merkle/merkle_tree.h"
#include "common/sdc/disclosure_control.h"
#include "common/sdc/privacy_ledger.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink {
namespace {

using trelink::v1::CountTable;
using trelink::v1::LogEntry;

// The problems of one entry's "policy" replay.
struct PolicyProblems {
  int64_t index;
  LogVerification& result;
  void operator()(const std::string& detail) const { result.problems.push_back({index, "policy", detail}); }
};

bool IsDp(const LogEntry& entry) { return entry.policy().mode() == trelink::v1::DisclosurePolicy::DP; }
// An answer given again from an earlier entry (dp: free of charge).
bool IsRepeat(const LogEntry& entry) { return IsDp(entry) ? entry.privacy().repeat() : entry.has_repeat_of(); }

// Any other status withholds the count, though it may leak why (a problem
// of its own); the reasons and lines below treat it as suppressed.
bool IsReleased(trelink::v1::CellStatus status) {
  return status == trelink::v1::RELEASED || status == trelink::v1::ROUNDED;
}

// Cells by their values, for the line check.
using CellsByValues = std::map<std::vector<std::string>, const trelink::v1::Cell*>;

// Each cell on its own: one of the three statuses an analyst may see, no
// value behind a suppression, released counts at or above the threshold
// and on the rounding base. dp releases no count below k, zero included.
CellsByValues ReplayCells(const LogEntry& entry, LogVerification& result, const PolicyProblems& problem) {
  const auto& policy = entry.policy();
  const CountTable& table = entry.table();
  const bool dp = IsDp(entry);
  CellsByValues cells;
  for (int c = 0; c < table.cells_size(); ++c) {
    const auto& cell = table.cells(c);
    ++result.cells_checked;
    std::vector<std::string> key(cell.values().begin(), cell.values().end());
    // Named only in a problem: most cells have none.
    auto where = [&] { return absl::StrCat("cell ", c, " (", absl::StrJoin(key, ","), ")"); };
    // The lines below index a cell's values by dimension; an entry is not
    // trusted to have one value for each.
    if (cell.values_size() != table.dimensions_size()) {
      problem(absl::StrCat(where(), ": ", cell.values_size(), " values for ", table.dimensions_size(), " dimensions"));
      continue;
    }
    if (!IsReleased(cell.status())) {
      if (!IsSuppressed(cell.status())) {
        problem(absl::StrCat(where(), ": status ", cell.status(),
                             " is none an analyst may see (RELEASED, ROUNDED or SUPPRESSED)"));
      }
      if (cell.count() != 0) problem(absl::StrCat(where(), ": suppressed but carries a count"));
      cells[std::move(key)] = &cell;
      continue;
    }
    if (!dp && cell.count() == 0 && !policy.release_zeros()) {
      problem(absl::StrCat(where(), ": a zero released although the policy does not release zeros"));
    }
    if ((dp || cell.count() != 0) && cell.count() < policy.threshold()) {
      problem(absl::StrCat(where(), ": released count ", cell.count(), " is below the threshold ", policy.threshold()));
    }
    if (cell.status() == trelink::v1::ROUNDED && policy.rounding_base() > 1 && cell.count() % policy.rounding_base() != 0) {
      problem(absl::StrCat(where(), ": released count ", cell.count(), " is not a multiple of ", policy.rounding_base()));
    }
    if (cell.status() == trelink::v1::RELEASED && policy.rounding_base() > 1) {
      problem(absl::StrCat(where(), ": released unrounded under a rounding policy"));
    }
    cells[std::move(key)] = &cell;
  }
  return cells;
}

// The auditors' reasons: one per cell, NOT_SUPPRESSED exactly for the
// released ones. A repeat is the earlier entry's table and may carry none.
void ReplayReasons(const LogEntry& entry, const PolicyProblems& problem) {
  const CountTable& table = entry.table();
  if (entry.suppression_reasons_size() == 0 && IsRepeat(entry)) return;
  if (entry.suppression_reasons_size() != table.cells_size()) {
    problem(absl::StrCat(entry.suppression_reasons_size(), " suppression reasons for ", table.cells_size(), " cells"));
    return;
  }
  for (int c = 0; c < table.cells_size(); ++c) {
    const trelink::v1::SuppressionReason reason = entry.suppression_reasons(c);
    const bool suppressed = !IsReleased(table.cells(c).status());
    if (!trelink::v1::SuppressionReason_IsValid(reason)) {
      problem(absl::StrCat("cell ", c, ": unknown suppression reason ", reason));
    } else if (suppressed && reason == trelink::v1::NOT_SUPPRESSED) {
      problem(absl::StrCat("cell ", c, ": suppressed without a reason"));
    } else if (!suppressed && reason != trelink::v1::NOT_SUPPRESSED) {
      problem(absl::StrCat("cell ", c, ": released but logged as suppressed (",
                           trelink::v1::SuppressionReason_Name(reason), ")"));
    }
  }
}

// sdc: the release audit ran and left every protected count an interval at
// least k wide, or withheld the whole table. dp: no release audit.
void ReplayReleaseAudit(const LogEntry& entry, const PolicyProblems& problem) {
  if (IsDp(entry)) {
    if (entry.has_release_audit()) problem("a dp release carries a release audit summary");
    return;
  }
  if (entry.has_repeat_of()) {
    // The table was audited when first released; the ledger checks it is
    // the same.
    if (entry.has_release_audit()) problem("a repeat carries a release audit summary");
    return;
  }
  if (!entry.has_release_audit()) {
    problem("an sdc release without its release audit summary");
    return;
  }
  const trelink::v1::ReleaseAuditSummary& audit = entry.release_audit();
  const uint32_t k = entry.policy().threshold();
  if (audit.whole_table_suppressed()) {
    for (int c = 0; c < entry.table().cells_size(); ++c) {
      if (IsReleased(entry.table().cells(c).status())) {
        problem(absl::StrCat("cell ", c, ": released although the release audit withheld the whole table"));
      }
    }
  } else if (audit.protected_counts() > 0 && audit.narrowest_interval() < k) {
    problem(absl::StrCat("the release audit left a protected count an interval ", audit.narrowest_interval(),
                         " wide, narrower than the threshold ", k));
  }
}

// sdc: no line (a margin with its cells) holds exactly one unknown. In dp
// mode margins are sums of noisy cells, so subtraction recovers only noise.
void ReplayLines(const CountTable& table, const CellsByValues& cells, const PolicyProblems& problem) {
  constexpr absl::string_view kMargin = "*";
  // Along each dimension, the cells that agree elsewhere; the one with "*"
  // there is the line's margin.
  const size_t dims = static_cast<size_t>(table.dimensions_size());
  for (size_t d = 0; d < dims; ++d) {
    struct LineState {
      const std::vector<std::string>* example = nullptr;  // a cell's values on the line
      bool has_margin = false;
      int unknown = 0;
      int members = 0;
    };
    // A line is named by its cells' values with "*" at d, each prefixed by
    // its length (a value may hold any byte); reported in value order.
    absl::flat_hash_map<std::string, LineState> lines;
    std::string line_key;
    for (const auto& [key, cell] : cells) {
      line_key.clear();
      for (size_t i = 0; i < key.size(); ++i) {
        const absl::string_view value = i == d ? kMargin : absl::string_view(key[i]);
        absl::StrAppend(&line_key, value.size(), ":", value);
      }
      LineState& line = lines[line_key];
      if (line.example == nullptr) line.example = &key;
      if (!IsReleased(cell->status())) ++line.unknown;
      if (key[d] == kMargin) {
        line.has_margin = true;
      } else {
        ++line.members;
      }
    }
    std::vector<std::vector<std::string>> recoverable;
    for (const auto& [name, line] : lines) {
      if (!line.has_margin || line.members == 0 || line.unknown != 1) continue;
      recoverable.push_back(*line.example);
      recoverable.back()[d] = std::string(kMargin);
    }
    std::sort(recoverable.begin(), recoverable.end());
    for (const auto& values : recoverable) {
      problem(absl::StrCat("line of margin (", absl::StrJoin(values, ","),
                           ") has exactly one suppressed cell: it can be recovered by subtraction"));
    }
  }
}

// Replays the policy of the entry's mode over one released table.
void ReplayPolicy(int64_t index, const LogEntry& entry, LogVerification& result) {
  const PolicyProblems problem{index, result};
  if (entry.table().policy_version() != entry.policy().version()) {
    problem("table policy version differs from the entry's policy");
  }
  const CellsByValues cells = ReplayCells(entry, result, problem);
  ReplayReasons(entry, problem);
  ReplayReleaseAudit(entry, problem);
  if (!IsDp(entry)) ReplayLines(entry.table(), cells, problem);
}

// Runs the charges and answers through a PrivacyLedger in log order, as the
// aggregator did when it answered (a repeat must carry the table it
// repeats). `charged` holds every dp entry, every entry that carries a
// charge and every answer, in log order.
void ReplayLedger(std::vector<std::pair<int64_t, LogEntry>>& charged, const std::vector<std::string>& entries,
                  LogVerification& result) {
  absl::flat_hash_set<uint64_t> repeated;  // answers a repeat names
  for (const auto& [index, entry] : charged) {
    if (IsRepeat(entry)) repeated.insert(IsDp(entry) ? entry.privacy().repeat_of() : entry.repeat_of());
  }
  PrivacyLedger ledger;
  for (auto& [index, entry] : charged) {
    if (!IsRepeat(entry) && repeated.contains(static_cast<uint64_t>(index))) {
      LogEntry whole;
      if (whole.ParseFromString(entries[static_cast<size_t>(index)])) *entry.mutable_table() = whole.table();
    }
    ProjectBudget* budget = IsDp(entry) ? &result.budgets[entry.project()] : nullptr;
    if (budget != nullptr && budget->broken_at >= 0) continue;
    if (absl::Status replayed = ledger.Replay(entry); !replayed.ok()) {
      result.problems.push_back({index, "budget", std::string(replayed.message())});
      if (budget != nullptr) budget->broken_at = index;
      continue;
    }
    if (budget == nullptr) continue;
    budget->budget_micro = entry.policy().dp().budget_micro();
    budget->spent_micro = ledger.spent(entry.project());
    if (!entry.has_table()) continue;
    ++budget->dp_answers;
    if (entry.privacy().repeat()) ++budget->repeats;
  }
}

}  // namespace

LogVerification VerifyDisclosureLog(const std::vector<std::string>& entries, const std::string& checkpoint_note,
                                    const NoteVerifier& verifier, const std::optional<std::string>& earlier_checkpoint) {
  LogVerification result;
  result.entries = entries.size();
  // Entries are independent until the tree is built: hash, parse and replay
  // them on every core, then merge in order.
  const size_t threads = WorkerThreads();
  const size_t chunk = (entries.size() + threads - 1) / threads;
  std::vector<Hash> leaves(entries.size());
  std::vector<LogVerification> partial(threads);
  // The ledger is replayed in order afterwards: each worker keeps its
  // chunk's charged entries, in order.
  std::vector<std::vector<std::pair<int64_t, LogEntry>>> charged(threads);
  OnEachThread(threads, [&](size_t t) {
    LogVerification& part = partial[t];
    // Entries are parsed into an arena, freed in bulk: a table's cells
    // are thousands of small strings.
    google::protobuf::Arena arena;
    size_t in_arena = 0;
    for (size_t i = t * chunk; i < std::min(entries.size(), (t + 1) * chunk); ++i) {
      if (++in_arena == 64) {
        arena.Reset();
        in_arena = 0;
      }
      LogEntry& entry = *google::protobuf::Arena::CreateMessage<LogEntry>(&arena);
      leaves[i] = LeafHash(entries[i]);
      if (!entry.ParseFromString(entries[i])) {
        part.problems.push_back({static_cast<int64_t>(i), "parse", "not a LogEntry"});
        continue;
      }
      if (entry.index() != i) {
        part.problems.push_back({static_cast<int64_t>(i), "sequence",
                                 absl::StrCat("entry says it is number ", entry.index(),
                                              " (entries dropped, inserted or reordered)")});
      }
      if (entry.has_table()) {
        ++part.released_tables;
        ReplayPolicy(static_cast<int64_t>(i), entry, part);
      } else {
        ++part.refusals;
      }
      if (IsDp(entry) || entry.has_privacy() || entry.has_table()) {
        // Kept without what the ledger does not read. An answer's cells
        // matter only if a later repeat names it: ReplayLedger parses those
        // again.
        entry.clear_suppression_reasons();
        entry.clear_release_audit();
        if (entry.has_table() && !IsRepeat(entry)) entry.mutable_table()->clear_cells();
        charged[t].emplace_back(static_cast<int64_t>(i), entry);
      }
    }
  });
  for (const LogVerification& part : partial) {
    result.released_tables += part.released_tables;
    result.refusals += part.refusals;
    result.cells_checked += part.cells_checked;
    result.problems.insert(result.problems.end(), part.problems.begin(), part.problems.end());
  }
  std::vector<std::pair<int64_t, LogEntry>> in_order;
  for (auto& chunk : charged) std::move(chunk.begin(), chunk.end(), std::back_inserter(in_order));
  ReplayLedger(in_order, entries, result);
  MerkleTree tree;
  for (const Hash& leaf : leaves) tree.Append(leaf);
  absl::StatusOr<CheckpointBody> checkpoint = verifier.Verify(checkpoint_note);
  if (!checkpoint.ok()) {
    result.problems.push_back({-1, "checkpoint", std::string(checkpoint.status().message())});
    return result;
  }
  result.checkpoint_size = checkpoint->size;
  if (checkpoint->size > entries.size()) {
    result.problems.push_back({-1, "checkpoint",
                               absl::StrCat("the checkpoint covers ", checkpoint->size, " entries but the log has ",
                                            entries.size(), " (entries were removed)")});
  } else {
    const Hash root = *tree.Root(checkpoint->size);
    result.root_hex = HexOf(root);
    if (root != checkpoint->root) {
      result.problems.push_back({-1, "checkpoint",
                                 absl::StrCat("the log's first ", checkpoint->size,
                                              " entries do not hash to the signed root (an entry was altered, "
                                              "dropped or reordered)")});
    }
    if (checkpoint->size < entries.size()) {
      result.problems.push_back({static_cast<int64_t>(checkpoint->size), "checkpoint",
                                 absl::StrCat(entries.size() - checkpoint->size,
                                              " entries are not covered by the signed checkpoint")});
    }
  }
  if (earlier_checkpoint.has_value()) {
    absl::StatusOr<CheckpointBody> earlier = verifier.Verify(*earlier_checkpoint);
    if (!earlier.ok()) {
      result.problems.push_back({-1, "consistency", absl::StrCat("earlier checkpoint: ", earlier.status().message())});
    } else if (earlier->size > entries.size()) {
      result.problems.push_back({-1, "consistency",
                                 absl::StrCat("the earlier checkpoint covers ", earlier->size,
                                              " entries; the log now has only ", entries.size(),
                                              " (truncated)")});
    } else if (*tree.Root(earlier->size) != earlier->root) {
      result.problems.push_back({-1, "consistency",
                                 absl::StrCat("the log's first ", earlier->size,
                                              " entries no longer match the earlier checkpoint (history rewritten)")});
    } else if (checkpoint->size >= earlier->size && checkpoint->size <= entries.size()) {
      auto proof = tree.ConsistencyProof(earlier->size, checkpoint->size);
      if (!proof.ok() || !VerifyConsistency(earlier->size, checkpoint->size, earlier->root, checkpoint->root, *proof)) {
        result.problems.push_back({-1, "consistency", "the checkpoints are not consistent"});
      }
    }
  }
  return result;
}

}  // namespace trelink
