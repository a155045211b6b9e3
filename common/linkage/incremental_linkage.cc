// The incremental linkage run (see linkage_run.h).
#include <algorithm>
#include <chrono>

#include "absl/container/flat_hash_set.h"
#include "common/linkage/linkage_run_parts.h"
#include "common/status/status_macros.h"

namespace trelink::linkage_run {
namespace {

// Whether `state` is the project's latest generation as stored, over the
// same key names, so that linking the changes since gives what the store
// holds plus those changes.
absl::StatusOr<bool> StateIsCurrent(const LinkageState& state, LinkedStore& store, const std::string& project,
                                    const LinkageOptions& options) {
  if (state.generation == 0 || state.project != project || state.table == nullptr) return false;
  if (options.probabilistic && !state.fitted.has_value()) return false;
  TRELINK_ASSIGN_OR_RETURN(std::optional<trelink::v1::LinkageReport> latest, store.LatestReport(project));
  if (!latest.has_value() || latest->generation() != state.generation) return false;
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> key_names, store.KeyNames(project));
  return key_names == state.table->key_names();
}

// The participants to link, and where the earlier persons start from.
struct Changes {
  std::vector<bool> fresh;               // per participant
  std::vector<uint32_t> previous_set_of;  // per earlier participant; released ones alone
  uint64_t fresh_count = 0;
};

// Retires the participants of records replaced or withdrawn since, adds
// those stored since, and releases every person that lost a participant.
absl::StatusOr<Changes> TakeChanges(LinkageState& state, LinkedStore& store, const std::string& project) {
  ParticipantTable& table = *state.table;
  const size_t earlier = table.size();
  TRELINK_ASSIGN_OR_RETURN(std::vector<int64_t> retired, store.RetiredParticipants(project));
  absl::flat_hash_set<uint32_t> released;  // sets that lost a participant
  for (int64_t id : retired) {
    const int64_t p = table.IndexOf(id);
    if (p < 0 || table.retired(static_cast<size_t>(p))) continue;
    table.Retire(static_cast<size_t>(p));
    released.insert(state.set_of[static_cast<size_t>(p)]);
  }
  TRELINK_RETURN_IF_ERROR(store.ForEachParticipant(
      project, [&](const ParticipantRow& row) { table.Add(row); }, state.last_participant));
  table.ForgetLayouts();

  Changes changes;
  changes.fresh.assign(table.size(), false);
  changes.previous_set_of = state.set_of;
  for (uint32_t p = 0; p < earlier; ++p) {
    if (!released.contains(state.set_of[p])) continue;
    changes.previous_set_of[p] = p;
    changes.fresh[p] = !table.retired(p);
  }
  for (size_t p = earlier; p < table.size(); ++p) changes.fresh[p] = true;
  changes.fresh_count = static_cast<uint64_t>(std::count(changes.fresh.begin(), changes.fresh.end(), true));
  return changes;
}

// Person ids for the persons the run touched (a fresh or an opted-out
// participant, or one the previous generation did not assign), by the
// rule of person_ids.h applied to them and the previous persons they hold;
// every other person is carried over whole under its id.
struct Persons {
  std::vector<uint64_t> person_of;  // per participant; 0: none
  PersonIds touched;
  uint64_t carried = 0;  // persons carried over
};

absl::StatusOr<Persons> AssignPersons(const LinkageRunContext& context, const LinkageState& state,
                                      const std::string& project, const Changes& changes,
                                      const std::vector<uint32_t>& set_of, const std::vector<bool>& excluded) {
  const ParticipantTable& table = *state.table;
  const size_t earlier = state.person_of.size();
  auto previous_person = [&](size_t p) { return p < earlier ? state.person_of[p] : 0; };
  absl::flat_hash_set<uint32_t> touched;
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (table.retired(p)) continue;
    if (changes.fresh[p] || excluded[p] || previous_person(p) == 0) touched.insert(set_of[p]);
  }
  absl::flat_hash_set<uint64_t> involved;  // previous persons of touched or retired participants
  for (uint32_t p = 0; p < earlier; ++p) {
    if (previous_person(p) != 0 && (table.retired(p) || touched.contains(set_of[p]))) involved.insert(previous_person(p));
  }
  std::vector<ClusteredParticipant> clustering;
  absl::flat_hash_set<uint64_t> carried_ids;
  Persons persons;
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (table.retired(p) || excluded[p]) continue;
    if (touched.contains(set_of[p])) {
      clustering.push_back({table.participant_id(p), set_of[p]});
    } else {
      carried_ids.insert(previous_person(p));
      if (set_of[p] == p) ++persons.carried;
    }
  }
  // The previous assignments of the involved persons, a replaced record's
  // participants in the place of their successors (as LatestAssignments).
  TRELINK_ASSIGN_OR_RETURN(auto successor, context.store->SuccessorParticipants(project));
  std::vector<PersonAssignment> previous;
  for (uint32_t p = 0; p < earlier; ++p) {
    if (previous_person(p) == 0 || !involved.contains(previous_person(p))) continue;
    int64_t id = table.participant_id(p);
    if (auto it = successor.find(id); it != successor.end()) id = it->second;
    previous.push_back({id, previous_person(p)});
  }
  std::sort(previous.begin(), previous.end(),
            [](const PersonAssignment& a, const PersonAssignment& b) { return a.participant_id < b.participant_id; });
  // Fresh ids stay clear of the carried persons' ids too.
  const std::function<uint64_t()> random_id = RandomIds(context, clustering.size() / 2);
  auto draw = [&] {
    uint64_t id = random_id();
    while (carried_ids.contains(id)) id = random_id();
    return id;
  };
  persons.touched = AssignPersonIds(clustering, previous, draw);
  persons.touched.counts.kept += persons.carried;

  persons.person_of.assign(table.size(), 0);
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (!table.retired(p) && !excluded[p] && !touched.contains(set_of[p])) persons.person_of[p] = previous_person(p);
  }
  for (const PersonAssignment& a : persons.touched.assignments) {
    persons.person_of[static_cast<size_t>(table.IndexOf(a.participant_id))] = a.person_id;
  }
  return persons;
}

AssignmentChanges ChangedAssignments(const ParticipantTable& table, const std::vector<uint64_t>& before,
                                     const std::vector<uint64_t>& after) {
  AssignmentChanges changes;
  for (size_t p = 0; p < after.size(); ++p) {
    const uint64_t was = p < before.size() ? before[p] : 0, now = after[p];
    if (was == now) continue;
    if (was != 0) changes.ended.push_back(table.participant_id(p));
    if (now != 0) changes.assigned.push_back({table.participant_id(p), now});
  }
  return changes;
}

}  // namespace

absl::StatusOr<std::optional<trelink::v1::LinkageReport>> LinkIncrementally(const LinkageRunContext& context,
                                                                           const std::string& project,
                                                                           const LinkageOptions& options,
                                                                           const PassObserver& observer) {
  const auto started = std::chrono::steady_clock::now();
  LinkageState& state = *context.state;
  TRELINK_ASSIGN_OR_RETURN(bool current, StateIsCurrent(state, *context.store, project, options));
  if (!current) return std::nullopt;
  ParticipantTable& table = *state.table;
  const size_t earlier = table.size();
  TRELINK_ASSIGN_OR_RETURN(std::optional<OptOutList> opt_out, ActiveOptOut(*context.store, project));
  TRELINK_ASSIGN_OR_RETURN(Changes changes, TakeChanges(state, *context.store, project));
  uint64_t live = 0;
  for (size_t p = 0; p < table.size(); ++p) live += table.retired(p) ? 0 : 1;
  if (static_cast<double>(changes.fresh_count) > context.max_incremental_share * static_cast<double>(live)) {
    state.Clear();  // the table has moved on from the stored generation
    return std::nullopt;
  }
  const uint64_t shared_nhs = table.DistrustKeysSharedWithinRecords("t.nhs", {"nhs", "t.nhs"}, earlier);
  const std::vector<bool> opted_out =
      OptedOutParticipants(table, opt_out.has_value() ? opt_out->nhs_keys : std::vector<std::string>{});
  const double load_seconds = SecondsSince(started);

  const auto link_started = std::chrono::steady_clock::now();
  const IncrementalSeed seed{&changes.previous_set_of, &changes.fresh,
                             state.fitted.has_value() ? &*state.fitted : nullptr};
  TRELINK_ASSIGN_OR_RETURN(LinkageResult result, LinkParticipants(table, options, observer, &seed));
  const OptOutExclusion exclusion = ExcludeOptedOut(table, result.set_of, opted_out);
  TRELINK_ASSIGN_OR_RETURN(Persons persons,
                           AssignPersons(context, state, project, changes, result.set_of, exclusion.excluded));
  const AssignmentChanges assignment_changes = ChangedAssignments(table, state.person_of, persons.person_of);

  trelink::v1::LinkageReport& report = result.report;
  report.set_mode("incremental");
  report.set_fitted_at_generation(state.fitted_at_generation);
  report.mutable_participants_relinked()->set_value(changes.fresh_count);
  *report.mutable_quality() = state.quality;
  report.set_load_seconds(load_seconds);
  report.set_link_seconds(SecondsSince(link_started));
  TRELINK_RETURN_IF_ERROR(SaveReport(context, project, report, shared_nhs, persons.touched.counts, opt_out, exclusion,
                                     assignment_changes, persons.touched.lineage));
  report.set_seconds(SecondsSince(started));

  state.generation = report.generation();
  state.set_of = std::move(result.set_of);
  state.person_of = std::move(persons.person_of);
  if (table.size() > 0) state.last_participant = std::max(state.last_participant, table.participant_id(table.size() - 1));
  return report;
}

}  // namespace trelink::linkage_run
