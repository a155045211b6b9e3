#include "common/disclosure_log/log_verifier.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/merkle/merkle_tree.h"
#include "common/sdc/disclosure_control.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink {
namespace {

using trelink::v1::CountTable;

// Replays the policy over one released table: released counts at or above
// the threshold and on the rounding base, suppressed cells without a value,
// and no line (a margin with its cells) holding exactly one unknown.
void ReplayPolicy(int64_t index, const trelink::v1::LogEntry& entry, LogVerification& result) {
  const auto& policy = entry.policy();
  const CountTable& table = entry.table();
  auto problem = [&](const std::string& detail) { result.problems.push_back({index, "policy", detail}); };
  if (table.policy_version() != policy.version()) problem("table policy version differs from the entry's policy");
  std::map<std::vector<std::string>, const trelink::v1::Cell*> cells;
  for (int c = 0; c < table.cells_size(); ++c) {
    const auto& cell = table.cells(c);
    ++result.cells_checked;
    std::vector<std::string> key(cell.values().begin(), cell.values().end());
    cells[key] = &cell;
    const std::string where = absl::StrCat("cell ", c, " (", absl::StrJoin(key, ","), ")");
    if (IsSuppressed(cell.status())) {
      if (cell.count() != 0) problem(absl::StrCat(where, ": suppressed but carries a count"));
      continue;
    }
    if (cell.status() != trelink::v1::ROUNDED && cell.status() != trelink::v1::RELEASED) {
      problem(absl::StrCat(where, ": unknown status"));
      continue;
    }
    if (cell.count() == 0 && !policy.release_zeros() && cell.status() != trelink::v1::ROUNDED) {
      problem(absl::StrCat(where, ": a zero released although the policy does not release zeros"));
    }
    if (cell.count() != 0 && cell.count() < policy.threshold()) {
      problem(absl::StrCat(where, ": released count ", cell.count(), " is below the threshold ", policy.threshold()));
    }
    if (cell.status() == trelink::v1::ROUNDED && policy.rounding_base() > 1 && cell.count() % policy.rounding_base() != 0) {
      problem(absl::StrCat(where, ": released count ", cell.count(), " is not a multiple of ", policy.rounding_base()));
    }
    if (cell.status() == trelink::v1::RELEASED && policy.rounding_base() > 1) {
      problem(absl::StrCat(where, ": released unrounded under a rounding policy"));
    }
  }
  // Lines: for each margin cell ("*" in one position), its members.
  const size_t dims = static_cast<size_t>(table.dimensions_size());
  for (const auto& [key, margin] : cells) {
    for (size_t d = 0; d < dims; ++d) {
      if (key[d] != "*") continue;
      int unknown = IsSuppressed(margin->status()) ? 1 : 0;
      int members = 0;
      for (const auto& [other, cell] : cells) {
        bool member = other[d] != "*";
        for (size_t e = 0; e < dims && member; ++e) member = e == d || other[e] == key[e];
        if (!member) continue;
        ++members;
        if (IsSuppressed(cell->status())) ++unknown;
      }
      if (members > 0 && unknown == 1) {
        problem(absl::StrCat("line of margin (", absl::StrJoin(key, ","),
                             ") has exactly one suppressed cell: it can be recovered by subtraction"));
      }
    }
  }
}

}  // namespace

LogVerification VerifyDisclosureLog(const std::vector<std::string>& entries, const std::string& checkpoint_note,
                                    const NoteVerifier& verifier, const std::optional<std::string>& earlier_checkpoint) {
  LogVerification result;
  result.entries = entries.size();
  MerkleTree tree;
  for (size_t i = 0; i < entries.size(); ++i) {
    tree.Append(LeafHash(entries[i]));
    trelink::v1::LogEntry entry;
    if (!entry.ParseFromString(entries[i])) {
      result.problems.push_back({static_cast<int64_t>(i), "parse", "not a LogEntry"});
      continue;
    }
    if (entry.index() != i) {
      result.problems.push_back({static_cast<int64_t>(i), "sequence",
                                 absl::StrCat("entry says it is number ", entry.index(),
                                              " (entries dropped, inserted or reordered)")});
    }
    if (entry.has_table()) {
      ++result.released_tables;
      ReplayPolicy(static_cast<int64_t>(i), entry, result);
    } else {
      ++result.refusals;
    }
  }
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
