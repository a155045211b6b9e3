// What the aggregator's RPCs do, without gRPC: check role and project,
// answer count queries from the in-memory index of the latest linkage
// generation under disclosure control, and append every answer and every
// refusal to the disclosure log before it is returned.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/access/access_policy.h"
#include "common/aggregate/count_query.h"
#include "common/disclosure_log/disclosure_log.h"
#include "common/store/linked_store.h"
#include "common/time/clock.h"

namespace trelink {

struct AggregateContext {
  const AccessPolicy* access;
  const Catalogue* catalogue;
  LinkedStore* store;
  const DisclosureControl* control;
  DisclosureLog* log;
  const Clock* clock;
  // The projects answered here ("*": any). The one disclosure log holds
  // entries of all of them, so auditing needs every one.
  std::vector<std::string> projects;
  absl::Duration refresh_interval = absl::Seconds(2);
};

class AggregateHandler {
 public:
  explicit AggregateHandler(AggregateContext context) : context_(context) {}

  // Analysts and auditors.
  // With a project: also its current linkage generation and quality report.
  absl::StatusOr<trelink::v1::CatalogueDescription> DescribeCatalogue(absl::string_view identity,
                                                                      const std::string& project = "") const;
  // Analysts, for a project they may act on and this aggregator serves. Slow work (evaluation, fsync):
  // call off the RPC threads.
  absl::StatusOr<trelink::v1::CountTable> Count(absl::string_view identity, const trelink::v1::CountQuery& query);

  // Auditors authorised for every project served here: the log cannot be
  // filtered by project without breaking its Merkle proofs.
  absl::Status AuthorizeAudit(absl::string_view identity, absl::string_view action) const;
  DisclosureLog& log() const { return *context_.log; }

 private:
  bool Serves(const std::string& project) const;
  absl::StatusOr<std::shared_ptr<const EventIndex>> IndexFor(const std::string& project);
  absl::StatusOr<trelink::v1::CountTable> Answer(const trelink::v1::CountQuery& query,
                                                 trelink::v1::LogEntry& entry);

  AggregateContext context_;
  std::mutex mu_;
  struct CachedIndex {
    std::shared_ptr<const EventIndex> index;
    absl::Time checked;
  };
  std::map<std::string, CachedIndex> indexes_;
  std::mutex answer_mu_;  // one release at a time: differencing sees every earlier release
};

}  // namespace trelink
