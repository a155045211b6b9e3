#include "services/aggregator/aggregate_handler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/aggregate/query_limits.h"
#include "common/log/log.h"
#include "common/status/field_violation.h"
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
  *description.mutable_policy() = ControlFor(project).policy();
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
  if (const DisclosureControl& control = ControlFor(project); control.dp() && context_.ledger != nullptr) {
    trelink::v1::PrivacyBudget& budget = *description.mutable_privacy_budget();
    budget.set_spent_micro(context_.ledger->spent(project));
    budget.set_budget_micro(control.policy().dp().budget_micro());
    budget.set_epsilon_per_query_micro(control.policy().dp().epsilon_per_query_micro());
  }
  return description;
}

absl::Status AggregateHandler::AuthorizeAudit(absl::string_view identity, absl::string_view action) const {
  return context_.access->AuthorizeEvery(identity, {trelink::v1::AUDITOR}, context_.projects, action).status();
}

DisclosureControl& AggregateHandler::ControlFor(const std::string& project) const {
  auto it = context_.project_controls.find(project);
  return it == context_.project_controls.end() ? *context_.control : *it->second;
}

absl::Status LoadLedger(const DisclosureLog& log, PrivacyLedger& ledger) {
  for (uint64_t i = 0; i < log.size(); ++i) {
    TRELINK_ASSIGN_OR_RETURN(std::string bytes, log.Entry(i));
    trelink::v1::LogEntry entry;
    if (!entry.ParseFromString(bytes)) return absl::DataLossError(absl::StrCat("disclosure log: entry ", i, " does not parse"));
    TRELINK_RETURN_IF_ERROR(ledger.Replay(entry));
  }
  return absl::OkStatus();
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

namespace {

void NoteReasons(const CountTableDraft& table, trelink::v1::LogEntry& entry) {
  for (const TableCell& cell : table.cells) entry.add_suppression_reasons(cell.reason);
}

}  // namespace

absl::StatusOr<uint64_t> AggregateHandler::AppendRelease(trelink::v1::LogEntry& entry) {
  absl::StatusOr<uint64_t> logged = context_.log->Append(entry);
  if (logged.ok()) return logged;
  LogError(absl::StrCat("disclosure log append failed; answer withheld: ", logged.status().ToString()));
  if (logged.status().code() == absl::StatusCode::kDataLoss && context_.log_lost) {
    context_.log_lost("the disclosure log cannot record answers until the aggregator restarts");
  }
  return absl::UnavailableError("the disclosure log could not record this answer, so nothing was released");
}

absl::StatusOr<trelink::v1::CountTable> AggregateHandler::Answer(const trelink::v1::CountQuery& query,
                                                                 trelink::v1::LogEntry& entry, const CallState& call) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<const EventIndex> index, IndexFor(query.project()));
  DisclosureControl& control = ControlFor(query.project());
  *entry.mutable_policy() = control.policy();
  entry.set_opt_out_list(index->opt_out_list());
  if (control.dp()) return AnswerWithNoise(query, *index, control, entry, call);
  const std::string digest = QueryDigest(query);
  if (context_.ledger != nullptr) {
    // Under the policy it was released under: a table of an earlier
    // policy version would not be this policy's answer.
    auto earlier = context_.ledger->Find(query.project(), digest, index->generation());
    if (earlier && earlier->table.policy_version() == control.policy().version()) {
      return AnswerAgain(query, *earlier, entry, call);
    }
  }
  TRELINK_ASSIGN_OR_RETURN(EvaluatedCount evaluated, EvaluateCount(*index, query, control.policy().max_cells()));
  TRELINK_RETURN_IF_ERROR(control.Apply(query.project(), *index, evaluated.table, entry.mutable_release_audit()));
  trelink::v1::CountTable table = ToCountTable(query, evaluated, control.policy().version(), index->generation());
  table.set_opt_out_list(index->opt_out_list());
  // Log only a release that will be sent: a client that left during the
  // evaluation gets nothing, so nothing is logged or remembered.
  TRELINK_RETURN_IF_ERROR(StillWaiting(call));
  // Remember before logging: a release the history could not keep would
  // escape the release audit after a restart, so it is not made. If the
  // append below fails instead, the history holds a table nobody saw, which
  // only makes later audits stricter.
  if (absl::Status recorded = control.Record(query.project(), *index, evaluated.table); !recorded.ok()) {
    return absl::UnavailableError("the release history could not record this answer, so nothing was released");
  }
  *entry.mutable_table() = table;
  NoteReasons(evaluated.table, entry);
  TRELINK_ASSIGN_OR_RETURN(const uint64_t logged, AppendRelease(entry));
  // Remembered, so that the same query asked again gets this table.
  if (context_.ledger != nullptr) {
    if (absl::Status kept = context_.ledger->Replay(entry); !kept.ok()) LogError(kept.ToString());
  }
  table.set_log_index(logged);
  return table;
}

// sdc mode: the same query on the same generation gets the table it got
// before, logged again as a repeat. Nothing new leaves, so the release
// audit is not asked (it would see the first release and withhold more).
absl::StatusOr<trelink::v1::CountTable> AggregateHandler::AnswerAgain(const trelink::v1::CountQuery& query,
                                                                      const PrivacyLedger::Earlier& earlier,
                                                                      trelink::v1::LogEntry& entry,
                                                                      const CallState& call) {
  trelink::v1::CountTable table = earlier.table;
  table.set_query_name(query.name());
  table.clear_log_index();
  TRELINK_RETURN_IF_ERROR(StillWaiting(call));
  *entry.mutable_table() = table;
  entry.set_repeat_of(earlier.index);
  TRELINK_ASSIGN_OR_RETURN(const uint64_t logged, AppendRelease(entry));
  table.set_log_index(logged);
  return table;
}

// dp mode: the same query on the same generation gets the earlier answer
// at no cost; a new one is charged to the project's budget, and the charge
// is in the log entry that releases it.
absl::StatusOr<trelink::v1::CountTable> AggregateHandler::AnswerWithNoise(const trelink::v1::CountQuery& query,
                                                                          const EventIndex& index,
                                                                          DisclosureControl& control,
                                                                          trelink::v1::LogEntry& entry,
                                                                          const CallState& call) {
  const std::string digest = QueryDigest(query);
  const trelink::v1::DpPolicy& dp = control.policy().dp();
  PrivacyLedger& ledger = *context_.ledger;
  trelink::v1::CountTable table;
  if (std::optional<PrivacyLedger::Earlier> earlier = ledger.Find(query.project(), digest, index.generation())) {
    table = earlier->table;
    table.set_query_name(query.name());
    table.clear_log_index();
    *entry.mutable_privacy() = ledger.Repeat(query.project(), digest, *earlier, dp);
  } else {
    TRELINK_ASSIGN_OR_RETURN(*entry.mutable_privacy(), ledger.Charge(query.project(), digest, dp));
    TRELINK_ASSIGN_OR_RETURN(EvaluatedCount evaluated, EvaluateCount(index, query, control.policy().max_cells()));
    TRELINK_RETURN_IF_ERROR(control.Apply(query.project(), index, evaluated.table, nullptr));
    table = ToCountTable(query, evaluated, control.policy().version(), index.generation());
    table.set_opt_out_list(index.opt_out_list());
    NoteReasons(evaluated.table, entry);
  }
  TRELINK_RETURN_IF_ERROR(StillWaiting(call));
  *entry.mutable_table() = table;
  TRELINK_ASSIGN_OR_RETURN(const uint64_t logged, AppendRelease(entry));
  // The log holds the charge now; the ledger follows it.
  if (absl::Status charged = ledger.Replay(entry); !charged.ok()) LogError(charged.ToString());
  table.set_log_index(logged);
  return table;
}

absl::StatusOr<trelink::v1::CountTable> AggregateHandler::AuthorizeAndAnswer(absl::string_view identity,
                                                                             const trelink::v1::CountQuery& query,
                                                                             trelink::v1::LogEntry& entry,
                                                                             const CallState& call) {
  TRELINK_ASSIGN_OR_RETURN(Caller caller,
                           context_.access->Authorize(identity, {trelink::v1::ANALYST}, query.project(), "Count"));
  if (query.project().empty()) return FieldError("project", "required");
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
  *entry.mutable_policy() = ControlFor(query.project()).policy();
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
    entry.clear_privacy();
    entry.clear_release_audit();
    entry.clear_suppression_reasons();
    entry.set_refusal_code(absl::StatusCodeToString(table.status().code()));
    entry.set_refusal_message(std::string(table.status().message()));
    absl::StatusOr<uint64_t> logged = context_.log->Append(entry);
    if (!logged.ok()) LogError(absl::StrCat("disclosure log: could not record a refusal: ", logged.status().ToString()));
  }
  return table;
}

}  // namespace trelink
