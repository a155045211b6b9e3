// What the aggregator's RPCs do, without gRPC: check role and project,
// answer count queries from the in-memory index of the latest linkage
// generation under disclosure control, and append every answer and every
// refusal to the disclosure log before it is returned. A call the client has
// given up on is neither answered nor logged; callers with no role are
// counted, never logged.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/access/access_policy.h"
#include "common/aggregate/count_query.h"
#include "common/disclosure_log/disclosure_log.h"
#include "common/sdc/privacy_ledger.h"
#include "common/store/linked_store.h"
#include "common/time/clock.h"

namespace trelink {

struct AggregateContext {
  const AccessPolicy* access;
  const Catalogue* catalogue;
  LinkedStore* store;
  DisclosureControl* control;  // the default policy
  DisclosureLog* log;
  const Clock* clock;
  // The projects answered here ("*": any). The one disclosure log holds
  // entries of all of them, so auditing needs every one.
  std::vector<std::string> projects;
  absl::Duration refresh_interval = absl::Seconds(2);
  // Projects with their own policy (for example dp mode).
  std::map<std::string, DisclosureControl*> project_controls = {};
  // dp mode's budget ledger and every mode's earlier answers (repeats get
  // them again), rebuilt from the log at start (LoadLedger). Null: no
  // repeats are recognised and dp mode cannot answer.
  PrivacyLedger* ledger = nullptr;
};

// Replays every entry of the log into `ledger`; DATA_LOSS when the charges
// in the log do not add up.
absl::Status LoadLedger(const DisclosureLog& log, PrivacyLedger& ledger);

// Whether the client still waits for a call: OK while it does, CANCELLED or
// DEADLINE_EXCEEDED once it has gone. The gRPC adapter makes one from the
// call's context, so the handler needs no gRPC types; empty means "waits".
using CallState = std::function<absl::Status()>;

class AggregateHandler {
 public:
  explicit AggregateHandler(AggregateContext context) : context_(context) {}

  // Analysts and auditors.
  // With a project: also its current linkage generation and quality report.
  absl::StatusOr<trelink::v1::CatalogueDescription> DescribeCatalogue(absl::string_view identity,
                                                                      const std::string& project = "") const;
  // Analysts, for a project they may act on and this aggregator serves. Slow work (evaluation, fsync):
  // call off the RPC threads. `call` is checked before the work and right before the log append: a
  // gone call ends with its status, unlogged and unrecorded in the release history. A query over
  // the limits of query_limits.h is refused and logged without its body; a caller with no role is
  // refused and counted, not logged.
  absl::StatusOr<trelink::v1::CountTable> Count(absl::string_view identity, const trelink::v1::CountQuery& query,
                                                const CallState& call = nullptr);
  // Count calls refused because the caller had no certificate or no role here.
  uint64_t refused_strangers() const { return refused_strangers_.load(); }

  // Auditors authorised for every project served here: the log cannot be
  // filtered by project without breaking its Merkle proofs.
  absl::Status AuthorizeAudit(absl::string_view identity, absl::string_view action) const;
  DisclosureLog& log() const { return *context_.log; }

 private:
  bool Serves(const std::string& project) const;
  DisclosureControl& ControlFor(const std::string& project) const;
  absl::StatusOr<trelink::v1::CountTable> AnswerWithNoise(const trelink::v1::CountQuery& query, const EventIndex& index,
                                                          DisclosureControl& control, trelink::v1::LogEntry& entry,
                                                          const CallState& call);
  absl::StatusOr<trelink::v1::CountTable> AnswerAgain(const trelink::v1::CountQuery& query,
                                                      const PrivacyLedger::Earlier& earlier,
                                                      trelink::v1::LogEntry& entry, const CallState& call);
  // Appends the entry of an answer; UNAVAILABLE (the answer withheld) when
  // the log cannot take it.
  absl::StatusOr<uint64_t> LogAnswer(trelink::v1::LogEntry& entry);
  absl::StatusOr<std::shared_ptr<const EventIndex>> IndexFor(const std::string& project);
  absl::StatusOr<trelink::v1::CountTable> Answer(const trelink::v1::CountQuery& query, trelink::v1::LogEntry& entry,
                                                 const CallState& call);
  absl::StatusOr<trelink::v1::CountTable> AuthorizeAndAnswer(absl::string_view identity,
                                                             const trelink::v1::CountQuery& query,
                                                             trelink::v1::LogEntry& entry, const CallState& call);
  absl::Status RefuseStranger(absl::string_view identity);

  AggregateContext context_;
  std::mutex mu_;
  struct CachedIndex {
    std::shared_ptr<const EventIndex> index;
    absl::Time checked;
  };
  std::map<std::string, CachedIndex> indexes_;
  std::mutex answer_mu_;  // one release at a time: differencing sees every earlier release
  std::atomic<uint64_t> refused_strangers_{0};
};

}  // namespace trelink
