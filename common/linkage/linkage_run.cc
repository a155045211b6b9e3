#include "common/linkage/linkage_run.h"

#include <sodium.h>

#include <chrono>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<ParticipantTable> LoadParticipants(LinkedStore& store, const std::string& project,
                                                  std::vector<std::string> subgroup_attributes) {
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> key_names, store.KeyNames(project));
  ParticipantTable table(std::move(key_names), std::move(subgroup_attributes));
  TRELINK_RETURN_IF_ERROR(store.ForEachParticipant(project, [&](const ParticipantRow& row) { table.Add(row); }));
  return table;
}

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
  // A mother and her baby with one NHS number (hers keyed on the baby's
  // row): the number cannot say which of them it belongs to.
  const uint64_t shared_nhs = table.DistrustKeysSharedWithinRecords("t.nhs", {"nhs", "t.nhs"});
  const double load_seconds = since(started);
  const auto link_started = std::chrono::steady_clock::now();
  if (table.size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project, "\" has no stored records to link"));
  }
  TRELINK_ASSIGN_OR_RETURN(LinkageResult result, LinkParticipants(table, options, observer));

  const double link_seconds = since(link_started);
  // Linkage ids come from the CSPRNG in one draw (a call per person costs a
  // system call each), unless a source is injected.
  std::vector<uint64_t> drawn;
  size_t next_drawn = 0;
  auto random_id = context.random_id ? context.random_id : [&]() -> uint64_t {
    if (next_drawn == drawn.size()) {
      drawn.assign(std::max<size_t>(1024, table.size() / 2), 0);
      randombytes_buf(drawn.data(), drawn.size() * sizeof(uint64_t));
      next_drawn = 0;
    }
    return drawn[next_drawn++];
  };
  absl::flat_hash_map<uint32_t, uint64_t> person_of_set;
  absl::flat_hash_set<uint64_t> used;
  std::vector<PersonAssignment> assignments;
  assignments.reserve(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) {
    auto [it, fresh] = person_of_set.try_emplace(result.set_of[p], 0);
    if (fresh) {
      do {
        it->second = random_id() & 0x7fffffffffffffffull;  // fits SQLite's signed integers
      } while (it->second == 0 || !used.insert(it->second).second);
    }
    assignments.push_back({table.participant_id(p), it->second});
  }

  trelink::v1::LinkageReport& report = result.report;
  report.mutable_records_sharing_nhs_number()->set_value(shared_nhs);
  report.set_project(project);
  report.set_created_at(absl::FormatTime(absl::RFC3339_sec, context.clock->Now(), absl::UTCTimeZone()));
  report.set_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  SuppressSmallCounts(report, context.disclosure_threshold);
  report.set_load_seconds(load_seconds);
  report.set_link_seconds(link_seconds);
  const auto save_started = std::chrono::steady_clock::now();
  TRELINK_RETURN_IF_ERROR(context.store->SaveGeneration(project, report, assignments, {}));
  report.set_save_seconds(since(save_started));
  report.set_seconds(since(started));
  return report;
}

}  // namespace trelink
