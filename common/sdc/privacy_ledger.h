// The dp-mode budget ledger of every project, kept in the disclosure log
// itself: each dp answer's log entry carries its PrivacyCharge. The
// aggregator rebuilds the ledger from the log at start, and trelink-audit
// verify replays the same code over the log it fetched, so a log whose
// charges do not add up, or that ever went over a project's budget, fails.
//
// A query asked again on the same linkage generation is answered from the
// earlier entry at no cost: fresh noise would let an analyst average it away.
// The ledger keeps the sdc mode's answers too, so that a repeat there gets
// the table it got before (not a table the release audit, seeing the first
// release, would now withhold more of).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "trelink/v1/aggregate.pb.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink {

// BLAKE2b-256 of the query's deterministic bytes with its name (a label)
// cleared: equal for the same question.
std::string QueryDigest(const trelink::v1::CountQuery& query);

// Thread-safe.
class PrivacyLedger {
 public:
  // Checks one entry against the ledger and adds it (entries in log order).
  // DATA_LOSS naming the entry when its charge is wrong, it repeats an
  // answer that does not exist or differs, or the budget is exceeded.
  absl::Status Replay(const trelink::v1::LogEntry& entry);

  // The earlier answer to the same query on the same generation, if any.
  struct Earlier {
    uint64_t index;
    trelink::v1::CountTable table;
  };
  std::optional<Earlier> Find(const std::string& project, const std::string& digest, uint64_t generation) const;

  // The charge for a new query, or RESOURCE_EXHAUSTED when the project's
  // budget cannot pay for it.
  absl::StatusOr<trelink::v1::PrivacyCharge> Charge(const std::string& project, const std::string& digest,
                                                    const trelink::v1::DpPolicy& policy) const;
  // The charge of answering again from `earlier`.
  trelink::v1::PrivacyCharge Repeat(const std::string& project, const std::string& digest, const Earlier& earlier,
                                    const trelink::v1::DpPolicy& policy) const;

  uint64_t spent(const std::string& project) const;
  uint64_t entries() const;
  // Forgets every charge and answer (benchmarks start rounds afresh).
  void Clear();

 private:
  uint64_t SpentLocked(const std::string& project) const;
  template <typename Fail>
  absl::Status CheckRepeatLocked(const trelink::v1::LogEntry& entry, const std::string& digest, uint64_t repeat_of,
                                 const Fail& fail) const;
  template <typename Fail>
  absl::Status ReplayReleaseLocked(const trelink::v1::LogEntry& entry, const Fail& fail);
  std::optional<Earlier> FindLocked(const std::string& project, const std::string& digest, uint64_t generation) const;

  mutable std::mutex mu_;
  std::map<std::string, uint64_t> spent_;
  std::map<std::tuple<std::string, std::string, uint64_t>, Earlier> answers_;
  uint64_t entries_ = 0;
};

}  // namespace trelink
