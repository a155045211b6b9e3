#include "common/linkage/linkage_run.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/linkage/opt_out.h"
#include "common/linkage/person_ids.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<ParticipantTable> LoadParticipants(LinkedStore& store, const std::string& project,
                                                  std::vector<std::string> subgroup_attributes) {
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> key_names, store.KeyNames(project));
  ParticipantTable table(std::move(key_names), std::move(subgroup_attributes));
  TRELINK_RETURN_IF_ERROR(store.ForEachParticipant(project, [&](const ParticipantRow& row) { table.Add(row); }));
  return table;
}

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

// The persons of this linkage under the ids of the previous generation's
// persons they continue (person_ids.h). Participants of `excluded` records
// (the opt-out) are not in the generation at all.
PersonIds StablePersonIds(const ParticipantTable& table, const std::vector<uint32_t>& set_of,
                          const std::vector<bool>& excluded, const std::vector<PersonAssignment>& previous,
                          const std::function<uint64_t()>& random_id) {
  std::vector<ClusteredParticipant> clustering;
  clustering.reserve(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (!excluded[p]) clustering.push_back({table.participant_id(p), set_of[p]});
  }
  return AssignPersonIds(clustering, previous, random_id);
}

void ReportLineage(const LineageCounts& counts, trelink::v1::LineageReport& report) {
  report.mutable_kept()->set_value(counts.kept);
  report.mutable_new_persons()->set_value(counts.new_persons);
  report.mutable_merged()->set_value(counts.merged);
  report.mutable_split()->set_value(counts.split);
  report.mutable_left()->set_value(counts.left);
}

// An opt-out list keyed with another key version than some records would
// match none of them: after a key rotation the list must be applied again
// before linking, or opted-out persons would stay in.
absl::Status CheckOptOutCoversKeys(LinkedStore& store, const std::string& project,
                                   const std::optional<OptOutList>& opt_out) {
  if (!opt_out.has_value()) return absl::OkStatus();
  TRELINK_ASSIGN_OR_RETURN(std::set<uint32_t> live, store.LiveKeyVersions(project));
  for (uint32_t version : live) {
    if (opt_out->key_versions.count(version) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "opt-out list ", opt_out->version, " is not keyed with key version ", version,
          " that stored records use; apply the opt-out list again (trelink-cli opt-out) before linking"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<trelink::v1::LinkageReport> RunLinkage(const LinkageRunContext& context, const std::string& project,
                                                      const LinkageOptions& options, const PassObserver& observer) {
  const auto started = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  TRELINK_ASSIGN_OR_RETURN(
      ParticipantTable table,
      LoadParticipants(*context.store, project,
                       options.quality.enabled ? options.quality.subgroup_attributes : std::vector<std::string>{}));
  TRELINK_ASSIGN_OR_RETURN(std::optional<OptOutList> opt_out, context.store->ActiveOptOut(project));
  TRELINK_RETURN_IF_ERROR(CheckOptOutCoversKeys(*context.store, project, opt_out));
  const std::vector<bool> opted_out =
      OptedOutParticipants(table, opt_out.has_value() ? opt_out->nhs_keys : std::vector<std::string>{});
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> previous, context.store->LatestAssignments(project));
  // A mother and her baby with one NHS number (hers keyed on the baby's
  // row): the number cannot say which of them it belongs to.
  const uint64_t shared_nhs = table.DistrustKeysSharedWithinRecords("t.nhs", {"nhs", "t.nhs"});
  const double load_seconds = since(started);
  const auto link_started = std::chrono::steady_clock::now();
  if (table.size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project, "\" has no stored records to link"));
  }
  TRELINK_ASSIGN_OR_RETURN(LinkageResult result, LinkParticipants(table, options, observer));
  const OptOutExclusion exclusion = ExcludeOptedOut(table, result.set_of, opted_out);
  const std::function<uint64_t()> random_id =
      context.random_id ? context.random_id : std::function<uint64_t()>(CsprngIds(table.size() / 2));
  const PersonIds persons = StablePersonIds(table, result.set_of, exclusion.excluded, previous, random_id);
  const double link_seconds = since(link_started);

  trelink::v1::LinkageReport& report = result.report;
  report.mutable_records_sharing_nhs_number()->set_value(shared_nhs);
  ReportLineage(persons.counts, *report.mutable_lineage());
  if (opt_out.has_value()) {
    *report.mutable_opt_out() = ReportOptOut(opt_out->version, opt_out->numbers, exclusion);
  }
  report.set_project(project);
  report.set_created_at(absl::FormatTime(absl::RFC3339_sec, context.clock->Now(), absl::UTCTimeZone()));
  report.set_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  SuppressSmallCounts(report, context.disclosure_threshold);
  report.set_load_seconds(load_seconds);
  report.set_link_seconds(link_seconds);
  const auto save_started = std::chrono::steady_clock::now();
  TRELINK_RETURN_IF_ERROR(context.store->SaveGeneration(project, report, persons.assignments, persons.lineage));
  report.set_save_seconds(since(save_started));
  report.set_seconds(since(started));
  return report;
}

}  // namespace trelink
