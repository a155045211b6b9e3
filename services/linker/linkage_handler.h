// What the linker's RPCs do, without gRPC: check role and project, then
// ingest a batch, run linkage or read the report.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "common/access/access_policy.h"
#include "common/linkage/batch_ingest.h"
#include "common/linkage/linkage_run.h"

namespace trelink {

class LinkageHandler {
 public:
  // Nothing is owned; everything must outlive the handler.
  LinkageHandler(const AccessPolicy& access, const Catalogue& catalogue, const BatchIngester& ingester,
                 LinkageRunContext run_context, LinkageOptions options)
      : access_(access),
        catalogue_(catalogue),
        ingester_(ingester),
        run_context_(std::move(run_context)),
        options_(std::move(options)) {}

  // Providers, for a project they may act on and a dataset they hold. A
  // record the catalogue refuses, or an event after today (the run
  // context's clock), is INVALID_ARGUMENT naming the record's field.
  absl::StatusOr<trelink::v1::BatchResult> Ingest(absl::string_view identity,
                                                  const trelink::v1::IngestBatchRequest& request) const;
  // Providers, for a project they may act on and a dataset they hold.
  absl::StatusOr<trelink::v1::WithdrawResponse> Withdraw(absl::string_view identity,
                                                         const trelink::v1::WithdrawRequest& request) const;
  // Linkage admins, for a project they administer.
  absl::StatusOr<trelink::v1::OptOutResponse> ApplyOptOut(absl::string_view identity,
                                                          const trelink::v1::OptOutRequest& request) const;
  // Linkage admins. One run at a time; slow: call it off the RPC threads.
  // Incremental unless the request asks for a full run or the linker has
  // no current linkage of the project in memory (after a restart).
  absl::StatusOr<trelink::v1::LinkageReport> RunLinkage(absl::string_view identity,
                                                        const trelink::v1::RunLinkageRequest& request);
  // Linkage admins and auditors.
  absl::StatusOr<trelink::v1::LinkageReport> GetReport(absl::string_view identity,
                                                       const trelink::v1::GetLinkageReportRequest& request) const;

 private:
  absl::Status ValidateRecords(const trelink::v1::IngestBatchRequest& request) const;

  const AccessPolicy& access_;
  const Catalogue& catalogue_;
  const BatchIngester& ingester_;
  LinkageRunContext run_context_;
  LinkageOptions options_;
  std::mutex run_mu_;
  // Per project, the last run's linkage kept in memory, so that the next
  // can link only what changed (linkage_run.h). Guarded by run_mu_.
  std::map<std::string, LinkageState> states_;
};

}  // namespace trelink
