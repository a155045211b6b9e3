#include "services/aggregator/aggregate_handler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/aggregate/query_limits.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

absl::Status StillWaiting(const CallState& call) { return call ? call() : absl::OkStatus(); }

}  // namespace

absl::StatusOr<trelink::v1::CatalogueDescription> AggregateHandler::DescribeCatalogue(
    absl::string_view identity, const std::string& project) const {
  TRELINK_RETURN_IF_ERROR(
      context_.access->AuthorizeRole(identity, {trelink::v1::ANALYST, trelink::v1::AUDITOR}, "DescribeCatalogue")
          .status());
  trelink::v1::CatalogueDescription description;
  *description.mutable_catalogue() = context_.catalogue->proto();
  *description.mutable_policy() = context_.control->policy();
  if (project.empty()) return description;
  // The linkage quality of a project is its data: the caller must hold it.
  TRELINK_RETURN_IF_ERROR(
      context_.access->Authorize(identity, {trelink::v1::ANALYST, trelink::v1::AUDITOR}, project, "DescribeCatalogue")
          .status());
  if (!Serves(project)) return absl::NotFoundError(absl::StrCat("project: this aggregator does not serve it"));
  TRELINK_ASSIGN_OR_RETURN(auto report, context_.store->LatestReport(project));
  if (report.has_value()) {
    description.set_generation(report->generation());
    *description.mutable_linkage_quality() = report->quality();
  }
  return description;
}

absl::Status AggregateHandler::AuthorizeAudit(absl::string_view identity, absl::string_view action) const {
  return context_.access->AuthorizeEvery(identity, {trelink::v1::AUDITOR}, context_.projects, action).status();
}

bool AggregateHandler::Serves(const std::string& project) const {
  const auto& served = context_.projects;
  return std::find(served.begin(), served.end(), project) != served.end() ||
         std::find(served.begin(), served.end(), "*") != served.end();
}

absl::StatusOr<std::shared_ptr<const EventIndex>> AggregateHandler::IndexFor(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  CachedIndex& cached = indexes_[project];
  const absl::Time now = context_.clock->Now();
  if (cached.index != nullptr && now - cached.checked < context_.refresh_interval) return cached.index;
  TRELINK_ASSIGN_OR_RETURN(auto report, context_.store->LatestReport(project));
  cached.checked = now;
  if (!report.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project, "\" has not been linked yet"));
  }
  if (cached.index == nullptr || cached.index->generation() != report->generation()) {
    TRELINK_ASSIGN_OR_RETURN(cached.index, EventIndex::Build(*context_.store, *context_.catalogue, project));
    LogInfo(absl::StrCat("indexed generation ", cached.index->generation(), " of project ", project, ": ",
                         cached.index->events(), " events, ", cached.index->persons(), " persons"));
  }
  return cached.index;
}

absl::StatusOr<trelink::v1::CountTable> AggregateHandler::Answer(const trelink::v1::CountQuery& query,
                                                                 trelink::v1::LogEntry& entry, const CallState& call) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<const EventIndex> index, IndexFor(query.project()));
  TRELINK_ASSIGN_OR_RETURN(EvaluatedCount evaluated,
                           EvaluateCount(*index, query, context_.control->policy().max_cells()));
  context_.control->Apply(query.project(), evaluated.table);
  trelink::v1::CountTable table =
      ToCountTable(query, evaluated, context_.control->policy().version(), index->generation());
  // Log only a release that will be sent: a client that left during the
  // evaluation gets nothing, so nothing is logged or remembered.
  TRELINK_RETURN_IF_ERROR(StillWaiting(call));
  // Remember before logging: a release the history could not keep would
  // escape the differencing check after a restart, so it is not made. If
  // the append below fails instead, the history holds a table nobody saw,
  // which only makes later checks stricter.
  if (absl::Status recorded = context_.control->RecordReleased(query.project(), evaluated.table); !recorded.ok()) {
    return absl::UnavailableError("the release history could not record this answer, so nothing was released");
  }
  *entry.mutable_table() = table;
  // Log before release: if the append fails, nothing leaves.
  absl::StatusOr<uint64_t> logged = context_.log->Append(entry);
  if (!logged.ok()) {
    LogError(absl::StrCat("disclosure log append failed; answer withheld: ", logged.status().ToString()));
    return absl::UnavailableError("the disclosure log could not record this answer, so nothing was released");
  }
  table.set_log_index(*logged);
  return table;
}

absl::StatusOr<trelink::v1::CountTable> AggregateHandler::AuthorizeAndAnswer(absl::string_view identity,
                                                                             const trelink::v1::CountQuery& query,
                                                                             trelink::v1::LogEntry& entry,
                                                                             const CallState& call) {
  TRELINK_ASSIGN_OR_RETURN(Caller caller,
                           context_.access->Authorize(identity, {trelink::v1::ANALYST}, query.project(), "Count"));
  if (query.project().empty()) return absl::InvalidArgumentError("project: required");
  if (!Serves(query.project())) {
    // Its tables would land in a log whose auditors need not hold the project.
    return absl::NotFoundError(absl::StrCat("project \"", query.project(), "\" is not served by this aggregator"));
  }
  entry.set_role(std::string(RoleName(caller.role)));
  return Answer(query, entry, call);
}

absl::Status AggregateHandler::RefuseStranger(absl::string_view identity) {
  const uint64_t refused = ++refused_strangers_;
  // Counted, not logged: anyone the CA trusts could otherwise fill the log.
  // A line at 1, 2, 4, 8, ... keeps the service log bounded too.
  if ((refused & (refused - 1)) == 0) {
    LogInfo(absl::StrCat("Count: ", refused, " calls refused so far from callers with no role "
                         "(counted, not in the disclosure log)"));
  }
  return context_.access->Authorize(identity, {trelink::v1::ANALYST}, "", "Count").status();
}

absl::StatusOr<trelink::v1::CountTable> AggregateHandler::Count(absl::string_view identity,
                                                                const trelink::v1::CountQuery& query,
                                                                const CallState& call) {
  std::lock_guard<std::mutex> lock(answer_mu_);
  TRELINK_RETURN_IF_ERROR(StillWaiting(call));
  if (!context_.access->Knows(identity)) return RefuseStranger(identity);
  trelink::v1::LogEntry entry;
  entry.set_time(absl::FormatTime(absl::RFC3339_sec, context_.clock->Now(), absl::UTCTimeZone()));
  entry.set_caller(std::string(identity));
  *entry.mutable_policy() = context_.control->policy();
  absl::StatusOr<trelink::v1::CountTable> table = absl::UnknownError("unanswered");
  if (absl::Status within_limits = CheckQueryLimits(query); !within_limits.ok()) {
    table = within_limits;
  } else {
    // Within limits, so the query may be logged in full.
    entry.set_project(query.project());
    *entry.mutable_query() = query;
    table = AuthorizeAndAnswer(identity, query, entry, call);
  }
  // Every other refusal of a known caller is logged too (an over-limit query
  // without its body); if that append fails the caller still gets the refusal.
  if (!table.ok() && !entry.has_table() && StillWaiting(call).ok()) {
    entry.set_refusal_code(absl::StatusCodeToString(table.status().code()));
    entry.set_refusal_message(std::string(table.status().message()));
    absl::StatusOr<uint64_t> logged = context_.log->Append(entry);
    if (!logged.ok()) LogError(absl::StrCat("disclosure log: could not record a refusal: ", logged.status().ToString()));
  }
  return table;
}

}  // namespace trelink
