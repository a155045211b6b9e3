#include "common/linkage/linkage_run.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/linkage/linkage_run_parts.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<ParticipantTable> LoadParticipants(LinkedStore& store, const std::string& project,
                                                  std::vector<std::string> subgroup_attributes) {
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> key_names, store.KeyNames(project));
  ParticipantTable table(std::move(key_names), std::move(subgroup_attributes));
  TRELINK_RETURN_IF_ERROR(store.ForEachParticipant(project, [&](const ParticipantRow& row) { table.Add(row); }));
  table.ForgetLayouts();
  return table;
}

namespace linkage_run {
namespace {

// Linkage ids from the CSPRNG, drawn many at a time (a call per person
// would cost a system call each).
class CsprngIds {
 public:
  explicit CsprngIds(size_t batch) : batch_(std::max<size_t>(1024, batch)) {}
  uint64_t operator()() {
    if (next_ == drawn_.size()) {
      drawn_.assign(batch_, 0);
      randombytes_buf(drawn_.data(), drawn_.size() * sizeof(uint64_t));
      next_ = 0;
    }
    return drawn_[next_++];
  }

 private:
  size_t batch_;
  std::vector<uint64_t> drawn_;
  size_t next_ = 0;
};

void ReportLineage(const LineageCounts& counts, trelink::v1::LineageReport& report) {
  report.mutable_kept()->set_value(counts.kept);
  report.mutable_new_persons()->set_value(counts.new_persons);
  report.mutable_merged()->set_value(counts.merged);
  report.mutable_split()->set_value(counts.split);
  report.mutable_left()->set_value(counts.left);
}

}  // namespace

std::function<uint64_t()> RandomIds(const LinkageRunContext& context, size_t expected) {
  return context.random_id ? context.random_id : std::function<uint64_t()>(CsprngIds(expected));
}

absl::StatusOr<std::optional<OptOutList>> ActiveOptOut(LinkedStore& store, const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(std::optional<OptOutList> opt_out, store.ActiveOptOut(project));
  if (!opt_out.has_value()) return opt_out;
  // After a key rotation the list must be applied again before linking, or
  // opted-out persons would stay in.
  TRELINK_ASSIGN_OR_RETURN(std::set<uint32_t> live, store.LiveKeyVersions(project));
  for (uint32_t version : live) {
    if (opt_out->key_versions.count(version) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "opt-out list ", opt_out->version, " is not keyed with key version ", version,
          " that stored records use; apply the opt-out list again (trelink-cli opt-out) before linking"));
    }
  }
  return opt_out;
}

absl::Status SaveReport(const LinkageRunContext& context, const std::string& project,
                        trelink::v1::LinkageReport& report, uint64_t shared_nhs, const LineageCounts& lineage,
                        const std::optional<OptOutList>& opt_out, const OptOutExclusion& exclusion,
                        const AssignmentChanges& changes, const std::vector<LineageEvent>& events) {
  report.mutable_records_sharing_nhs_number()->set_value(shared_nhs);
  ReportLineage(lineage, *report.mutable_lineage());
  if (opt_out.has_value()) {
    *report.mutable_opt_out() = ReportOptOut(opt_out->version, opt_out->numbers, exclusion);
  }
  report.set_project(project);
  report.set_created_at(absl::FormatTime(absl::RFC3339_sec, context.clock->Now(), absl::UTCTimeZone()));
  SuppressSmallCounts(report, context.disclosure_threshold);
  const auto save_started = std::chrono::steady_clock::now();
  TRELINK_RETURN_IF_ERROR(context.store->SaveGeneration(project, report, changes, events));
  report.set_save_seconds(SecondsSince(save_started));
  return absl::OkStatus();
}

}  // namespace linkage_run

namespace {

using linkage_run::SecondsSince;

// Links every live record afresh; keeps the result in context.state.
absl::StatusOr<trelink::v1::LinkageReport> LinkFully(const LinkageRunContext& context, const std::string& project,
                                                     const LinkageOptions& options, const PassObserver& observer) {
  const auto started = std::chrono::steady_clock::now();
  if (context.state != nullptr) context.state->Clear();
  TRELINK_ASSIGN_OR_RETURN(
      ParticipantTable table,
      LoadParticipants(*context.store, project,
                       options.quality.enabled ? options.quality.subgroup_attributes : std::vector<std::string>{}));
  TRELINK_ASSIGN_OR_RETURN(std::optional<OptOutList> opt_out, linkage_run::ActiveOptOut(*context.store, project));
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> previous, context.store->LatestAssignments(project));
  // A mother and her baby with one NHS number (hers keyed on the baby's
  // row): the number cannot say which of them it belongs to.
  const uint64_t shared_nhs = table.DistrustKeysSharedWithinRecords("t.nhs", {"nhs", "t.nhs"});
  const std::vector<bool> opted_out =
      OptedOutParticipants(table, opt_out.has_value() ? opt_out->nhs_keys : std::vector<std::string>{});
  const double load_seconds = SecondsSince(started);
  const auto link_started = std::chrono::steady_clock::now();
  if (table.size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project, "\" has no stored records to link"));
  }
  TRELINK_ASSIGN_OR_RETURN(LinkageResult result, LinkParticipants(table, options, observer));
  const OptOutExclusion exclusion = ExcludeOptedOut(table, result.set_of, opted_out);
  // The persons under the ids of the previous generation's persons they
  // continue (person_ids.h); opted-out participants are not in it at all.
  std::vector<ClusteredParticipant> clustering;
  clustering.reserve(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (!exclusion.excluded[p]) clustering.push_back({table.participant_id(p), result.set_of[p]});
  }
  const PersonIds persons =
      AssignPersonIds(clustering, previous, linkage_run::RandomIds(context, table.size() / 2));
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> current, context.store->CurrentAssignments(project));
  const AssignmentChanges changes = DiffAssignments(current, persons.assignments);

  trelink::v1::LinkageReport& report = result.report;
  report.set_mode("full");
  report.set_load_seconds(load_seconds);
  report.set_link_seconds(SecondsSince(link_started));
  TRELINK_RETURN_IF_ERROR(linkage_run::SaveReport(context, project, report, shared_nhs, persons.counts, opt_out,
                                                  exclusion, changes, persons.lineage));
  report.set_seconds(SecondsSince(started));

  if (context.state != nullptr) {
    LinkageState& state = *context.state;
    state.project = project;
    state.generation = report.generation();
    state.person_of.assign(table.size(), 0);
    for (size_t i = 0, p = 0; i < persons.assignments.size(); ++i, ++p) {
      while (table.participant_id(p) != persons.assignments[i].participant_id) ++p;
      state.person_of[p] = persons.assignments[i].person_id;
    }
    state.last_participant = table.participant_id(table.size() - 1);
    state.set_of = std::move(result.set_of);
    state.fitted = std::move(result.fitted);
    state.fitted_at_generation = report.generation();
    state.quality = report.quality();
    state.table = std::make_unique<ParticipantTable>(std::move(table));
  }
  return report;
}

}  // namespace

absl::StatusOr<trelink::v1::LinkageReport> RunLinkage(const LinkageRunContext& context, const std::string& project,
                                                      const LinkageOptions& options, const PassObserver& observer) {
  // One run per project at a time across every linker sharing the store:
  // two would both save a generation built on the same predecessor.
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<LinkedStore::LinkageLease> lease, context.store->LeaseLinkage(project));
  if (context.state != nullptr && !context.full) {
    auto incremental = linkage_run::LinkIncrementally(context, project, options, observer);
    // A failed run may have left the state half way: the next run is full.
    if (!incremental.ok()) context.state->Clear();
    if (!incremental.ok() || incremental->has_value()) {
      if (!incremental.ok()) return incremental.status();
      return std::move(**incremental);
    }
  }
  return LinkFully(context, project, options, observer);
}

}  // namespace trelink
