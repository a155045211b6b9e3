#include "common/disclosure_log/log_verifier.h"

#include <algorithm>
#include <map>
#include <thread>

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
    const std::string where = absl::StrCat("cell ", c, " (", absl::StrJoin(key, ","), ")");
    // The lines below index a cell's values by dimension; an entry is not
    // trusted to have one value for each.
    if (cell.values_size() != table.dimensions_size()) {
      problem(absl::StrCat(where, ": ", cell.values_size(), " values for ", table.dimensions_size(), " dimensions"));
      continue;
    }
    cells[key] = &cell;
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
  // Lines: along each dimension, the cells that agree elsewhere; the one
  // with "*" there is the line's margin.
  const size_t dims = static_cast<size_t>(table.dimensions_size());
  for (size_t d = 0; d < dims; ++d) {
    struct LineState {
      bool has_margin = false;
      int unknown = 0;
      int members = 0;
    };
    std::map<std::vector<std::string>, LineState> lines;
    for (const auto& [key, cell] : cells) {
      std::vector<std::string> line_key = key;
      line_key[d] = "*";
      LineState& line = lines[line_key];
      if (IsSuppressed(cell->status())) ++line.unknown;
      if (key[d] == "*") {
        line.has_margin = true;
      } else {
        ++line.members;
      }
    }
    for (const auto& [line_key, line] : lines) {
      if (line.has_margin && line.members > 0 && line.unknown == 1) {
        problem(absl::StrCat("line of margin (", absl::StrJoin(line_key, ","),
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
  // Entries are independent until the tree is built: hash, parse and replay
  // them on every core, then merge in order.
  const size_t threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 8));
  const size_t chunk = (entries.size() + threads - 1) / threads;
  std::vector<Hash> leaves(entries.size());
  std::vector<LogVerification> partial(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      LogVerification& part = partial[t];
      trelink::v1::LogEntry entry;
      for (size_t i = t * chunk; i < std::min(entries.size(), (t + 1) * chunk); ++i) {
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
      }
    });
  }
  for (std::thread& w : workers) w.join();
  for (const LogVerification& part : partial) {
    result.released_tables += part.released_tables;
    result.refusals += part.refusals;
    result.cells_checked += part.cells_checked;
    result.problems.insert(result.problems.end(), part.problems.begin(), part.problems.end());
  }
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
