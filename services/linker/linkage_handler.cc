#include "services/linker/linkage_handler.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {

// The content of each record, checked here as well as by the ingester (which
// checks it against the dataset in the sealed keys, once opened) so that the
// error names the record's field for a client to read.
absl::Status LinkageHandler::ValidateRecords(const trelink::v1::IngestBatchRequest& request) const {
  const std::string batch = absl::StrCat("batch ", request.sealed().batch_id(), ": ");
  const trelink::v1::DatasetSpec* dataset = catalogue_.Find(request.sealed().dataset());
  if (dataset == nullptr) return absl::OkStatus();  // the ingester says so
  const absl::CivilDay today = absl::ToCivilDay(run_context_.clock->Now(), absl::UTCTimeZone());
  for (int r = 0; r < request.records_size(); ++r) {
    absl::Status s = catalogue_.ValidateContent(*dataset, request.records(r));
    if (s.ok()) s = ValidateEventNotFuture(request.records(r), today);
    if (!s.ok()) return NestedFieldError(s, absl::StrCat("records[", r, "]"), batch);
  }
  return absl::OkStatus();
}

absl::StatusOr<trelink::v1::BatchResult> LinkageHandler::Ingest(
    absl::string_view identity, const trelink::v1::IngestBatchRequest& request) const {
  TRELINK_RETURN_IF_ERROR(
      access_.Authorize(identity, {trelink::v1::PROVIDER}, request.sealed().project(), "Ingest").status());
  TRELINK_RETURN_IF_ERROR(access_.AuthorizeDataset(identity, request.sealed().dataset(), "Ingest"));
  if (request.sealed().project().empty()) return FieldError("sealed.project", "required");
  absl::Status valid = ValidateRecords(request);
  absl::StatusOr<trelink::v1::BatchResult> result = valid.ok() ? ingester_.Ingest(request) : valid;
  if (!result.ok()) {
    // Batch, record and field only: safe to log.
    LogInfo(absl::StrCat("rejected a batch from \"", identity, "\": ", result.status().ToString()));
  }
  return result;
}

absl::StatusOr<trelink::v1::WithdrawResponse> LinkageHandler::Withdraw(
    absl::string_view identity, const trelink::v1::WithdrawRequest& request) const {
  TRELINK_RETURN_IF_ERROR(
      access_.Authorize(identity, {trelink::v1::PROVIDER}, request.sealed().project(), "Withdraw").status());
  TRELINK_RETURN_IF_ERROR(access_.AuthorizeDataset(identity, request.sealed().dataset(), "Withdraw"));
  if (request.sealed().project().empty()) return FieldError("sealed.project", "required");
  absl::StatusOr<trelink::v1::WithdrawResponse> response = ingester_.Withdraw(request);
  if (response.ok()) {
    LogInfo(absl::StrCat("withdrawal ", request.sealed().batch_id(), " from \"", identity, "\": ",
                         response->withdrawn(), " records withdrawn, ", response->already_withdrawn(),
                         " withdrawn before, ", response->not_found(), " not found"));
  }
  return response;
}

absl::StatusOr<trelink::v1::OptOutResponse> LinkageHandler::ApplyOptOut(
    absl::string_view identity, const trelink::v1::OptOutRequest& request) const {
  TRELINK_RETURN_IF_ERROR(
      access_.Authorize(identity, {trelink::v1::LINKAGE_ADMIN}, request.sealed().project(), "ApplyOptOut").status());
  if (request.sealed().project().empty()) return FieldError("sealed.project", "required");
  absl::StatusOr<trelink::v1::OptOutResponse> response = ingester_.ApplyOptOut(request);
  if (response.ok() && request.complete()) {
    LogInfo(absl::StrCat("opt-out list ", request.list_version(), " of project ", request.sealed().project(),
                         " activated by \"", identity, "\""));
  }
  return response;
}

absl::StatusOr<trelink::v1::LinkageReport> LinkageHandler::RunLinkage(absl::string_view identity,
                                                                      const trelink::v1::RunLinkageRequest& request) {
  TRELINK_RETURN_IF_ERROR(
      access_.Authorize(identity, {trelink::v1::LINKAGE_ADMIN}, request.project(), "RunLinkage").status());
  if (request.project().empty()) return FieldError("project", "required");
  std::unique_lock<std::mutex> lock(run_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return absl::FailedPreconditionError("RunLinkage: a linkage run is already in progress; try again when it ends");
  }
  LogInfo(absl::StrCat("linkage of project ", request.project(), " started by \"", identity, "\"",
                       request.full() ? " (full)" : ""));
  LinkageRunContext context = run_context_;
  context.state = &states_[request.project()];
  context.full = request.full();
  absl::StatusOr<trelink::v1::LinkageReport> report = trelink::RunLinkage(context, request.project(), options_);
  if (report.ok()) {
    LogInfo(absl::StrCat("linkage of project ", request.project(), ": generation ", report->generation(), " (",
                         report->mode(), ") in ", report->seconds(), " s"));
  }
  return report;
}

absl::StatusOr<trelink::v1::LinkageReport> LinkageHandler::GetReport(
    absl::string_view identity, const trelink::v1::GetLinkageReportRequest& request) const {
  TRELINK_RETURN_IF_ERROR(access_
                              .Authorize(identity, {trelink::v1::LINKAGE_ADMIN, trelink::v1::AUDITOR},
                                         request.project(), "GetLinkageReport")
                              .status());
  TRELINK_ASSIGN_OR_RETURN(auto report, run_context_.store->LatestReport(request.project()));
  if (!report.has_value()) {
    return absl::NotFoundError(absl::StrCat("project \"", request.project(), "\" has not been linked yet"));
  }
  return *report;
}

}  // namespace trelink
