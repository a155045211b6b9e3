#include "common/linkage/linkage_engine.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

#include "absl/strings/str_cat.h"
#include "common/linkage/merge_guard.h"
#include "common/pseudonym/key_schema.h"

namespace trelink {
namespace {

void Set(trelink::v1::ReportCount* count, uint64_t value) { count->set_value(value); }

// Per-dataset tallies of one pass.
struct PassTally {
  std::vector<uint64_t> in, linked;
  uint64_t merges = 0, refused = 0, overshared = 0;
  explicit PassTally(size_t datasets) : in(datasets, 0), linked(datasets, 0) {}
};

std::vector<bool> Singletons(UnionFind& sets) {
  std::vector<bool> single(sets.size());
  for (uint32_t p = 0; p < sets.size(); ++p) single[p] = sets.SetSize(sets.Find(p)) == 1;
  return single;
}

void CountNewlyLinked(const ParticipantTable& table, UnionFind& sets, const std::vector<bool>& before,
                      PassTally& tally) {
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (before[p] && sets.SetSize(sets.Find(p)) > 1) tally.linked[table.dataset(p)]++;
  }
}

void AddPassReports(const ParticipantTable& table, const std::string& name, const PassTally& tally,
                    trelink::v1::LinkageReport& report) {
  auto* all = report.add_passes();
  all->set_name(name);
  uint64_t in = 0, linked = 0;
  for (size_t d = 0; d < table.datasets().size(); ++d) {
    auto* pass = report.add_passes();
    pass->set_name(name);
    pass->set_dataset(table.datasets()[d]);
    Set(pass->mutable_participants_in(), tally.in[d]);
    Set(pass->mutable_participants_linked(), tally.linked[d]);
    in += tally.in[d];
    linked += tally.linked[d];
  }
  Set(all->mutable_participants_in(), in);
  Set(all->mutable_participants_linked(), linked);
  Set(all->mutable_merges(), tally.merges);
  Set(all->mutable_merges_refused(), tally.refused);
  Set(all->mutable_overshared_keys(), tally.overshared);
}

void DeterministicPass(const ParticipantTable& table, int slot, bool vouches_identity, uint32_t max_group,
                       UnionFind& sets, MergeGuard& guard, PassTally& tally) {
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  entries.reserve(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) {
    const uint64_t key = table.Key(p, slot);
    if (key == 0) continue;
    entries.emplace_back(key, p);
    tally.in[table.dataset(p)]++;
  }
  std::sort(entries.begin(), entries.end());
  std::vector<uint32_t> members;
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].first == entries[i].first) ++j;
    members.clear();
    for (size_t k = i; k < j; ++k) members.push_back(entries[k].second);
    if (j - i > max_group) {
      tally.overshared++;  // implausibly many share it: flagged, not merged
    } else if (!vouches_identity && guard.Ambiguous(members)) {
      tally.refused++;  // shared by people known to differ: nobody joins on it
    } else {
      const uint32_t anchor = entries[i].second;
      for (size_t k = i + 1; k < j; ++k) {
        const uint32_t other = entries[k].second;
        if (sets.Find(anchor) == sets.Find(other)) continue;
        if (table.record_id(anchor) == table.record_id(other) ||
            (!vouches_identity && guard.GivenNamesConflict(anchor, other)) || !guard.TryMerge(anchor, other)) {
          tally.refused++;
          continue;
        }
        tally.merges++;
      }
    }
    i = j;
  }
}

}  // namespace

absl::StatusOr<LinkageOptions> LinkageOptions::FromPolicy(const trelink::v1::LinkagePolicy& policy) {
  LinkageOptions options;
  for (const std::string& key : policy.deterministic_keys()) options.deterministic_keys.push_back(key);
  if (options.deterministic_keys.empty()) {
    const trelink::v1::KeySchema schema = DefaultKeySchema();
    for (const auto& spec : schema.keys()) {
      if (spec.kind() == trelink::v1::KeySpec::MATCH_KEY) options.deterministic_keys.push_back(spec.name());
    }
  }
  if (policy.max_key_group() != 0) options.max_key_group = policy.max_key_group();
  if (options.max_key_group < 2) return absl::InvalidArgumentError("linkage.max_key_group: must be at least 2");
  options.probabilistic = !policy.disable_probabilistic();
  if (policy.match_probability() != 0) options.fellegi_sunter.match_probability = policy.match_probability();
  if (options.fellegi_sunter.match_probability <= 0.5 || options.fellegi_sunter.match_probability >= 1) {
    return absl::InvalidArgumentError("linkage.match_probability: must be in (0.5, 1)");
  }
  if (policy.max_block_size() != 0) options.fellegi_sunter.max_block_size = policy.max_block_size();
  return options;
}

void LinkageOptions::AddCatalogueConstraints(const trelink::v1::Catalogue& catalogue) {
  for (const auto& dataset : catalogue.datasets()) {
    for (const std::string& role : dataset.once_per_person_roles()) once_per_person.emplace_back(dataset.name(), role);
  }
}

absl::StatusOr<LinkageResult> LinkParticipants(const ParticipantTable& table, const LinkageOptions& options,
                                               const PassObserver& observer) {
  LinkageResult result;
  UnionFind sets(table.size());
  MergeGuard guard(table, sets, options.once_per_person);
  const size_t datasets = table.datasets().size();

  for (const std::string& key : options.deterministic_keys) {
    const int slot = table.Slot(key);
    if (slot < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("linkage.deterministic_keys: no stored batch carries the key \"", key, "\""));
    }
    PassTally tally(datasets);
    const std::vector<bool> before = Singletons(sets);
    // The NHS number itself vouches for identity; other keys are checked
    // against given names so twins are not merged.
    DeterministicPass(table, slot, /*vouches_identity=*/key == "nhs", options.max_key_group, sets, guard, tally);
    CountNewlyLinked(table, sets, before, tally);
    AddPassReports(table, key, tally, result.report);
    if (observer) observer(key, sets);
  }

  if (options.probabilistic) {
    PassTally tally(datasets);
    const std::vector<bool> before = Singletons(sets);
    ProbabilisticOutcome outcome = ScoreCandidatePairs(table, sets, options.fellegi_sunter);
    for (uint32_t p = 0; p < table.size(); ++p) tally.in[table.dataset(p)]++;
    // A participant whose candidates lie in sets with different NHS numbers
    // is ambiguous: it is linked to none of them.
    absl::flat_hash_map<uint32_t, std::vector<uint32_t>> partners;
    for (const ScoredPair& pair : outcome.accepted) {
      partners[pair.a].push_back(pair.b);
      partners[pair.b].push_back(pair.a);
    }
    absl::flat_hash_set<uint32_t> ambiguous;
    for (auto& [participant, others] : partners) {
      others.push_back(participant);
      if (guard.Ambiguous(others)) ambiguous.insert(participant);
    }
    uint64_t accepted = 0;
    for (const ScoredPair& pair : outcome.accepted) {
      if (sets.Find(pair.a) == sets.Find(pair.b)) continue;
      if (ambiguous.contains(pair.a) || ambiguous.contains(pair.b)) {
        tally.refused++;
        continue;
      }
      if (guard.GivenNamesConflict(pair.a, pair.b) || !guard.TryMerge(pair.a, pair.b)) {
        tally.refused++;
        continue;
      }
      ++accepted;
      tally.merges++;
    }
    CountNewlyLinked(table, sets, before, tally);
    AddPassReports(table, "probabilistic", tally, result.report);
    Set(outcome.report.mutable_accepted_pairs(), accepted);
    *result.report.mutable_probabilistic() = outcome.report;
    if (observer) observer("probabilistic", sets);
  }

  result.set_of.resize(table.size());
  std::vector<uint32_t> roots;
  for (uint32_t p = 0; p < table.size(); ++p) {
    result.set_of[p] = sets.Find(p);
    if (result.set_of[p] == p) roots.push_back(p);
  }
  std::vector<uint64_t> records(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) records[p] = static_cast<uint64_t>(table.record_id(p));
  std::sort(records.begin(), records.end());
  Set(result.report.mutable_records(),
      static_cast<uint64_t>(std::unique(records.begin(), records.end()) - records.begin()));
  Set(result.report.mutable_participants(), table.size());
  Set(result.report.mutable_persons(), roots.size());
  return result;
}

void SuppressSmallCounts(trelink::v1::LinkageReport& report, uint32_t threshold) {
  report.set_disclosure_threshold(threshold);
  auto apply = [threshold](trelink::v1::ReportCount* c) {
    if (c->value() > 0 && c->value() < threshold) {
      c->set_value(0);
      c->set_suppressed(true);
    }
  };
  apply(report.mutable_records());
  apply(report.mutable_participants());
  apply(report.mutable_persons());
  for (auto& pass : *report.mutable_passes()) {
    apply(pass.mutable_participants_in());
    apply(pass.mutable_participants_linked());
    apply(pass.mutable_merges());
    apply(pass.mutable_merges_refused());
    apply(pass.mutable_overshared_keys());
  }
  if (report.has_probabilistic()) apply(report.mutable_probabilistic()->mutable_accepted_pairs());
}

}  // namespace trelink
