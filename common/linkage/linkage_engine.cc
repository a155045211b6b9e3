#include "common/linkage/linkage_engine.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

#include "absl/strings/str_cat.h"
#include "common/linkage/linkage_model.h"
#include "common/linkage/merge_guard.h"
#include "common/status/status_macros.h"
#include "common/pseudonym/key_schema.h"

namespace trelink {
namespace {

void Set(trelink::v1::ReportCount* count, uint64_t value) { count->set_value(value); }

// Per-dataset tallies of one pass.
struct PassTally {
  std::vector<uint64_t> in, linked;
  uint64_t merges = 0, refused = 0, overshared = 0, reviewed = 0;
  explicit PassTally(size_t datasets) : in(datasets, 0), linked(datasets, 0) {}
};

// The participants a pass reports on: every one, or an incremental run's
// fresh ones (whose list keeps the run's cost to what changed).
struct PassScope {
  size_t size;
  const std::vector<uint32_t>* fresh = nullptr;
  template <typename Visit>
  void ForEach(Visit visit) const {
    if (fresh != nullptr) {
      for (uint32_t p : *fresh) visit(p);
    } else {
      for (uint32_t p = 0; p < size; ++p) visit(p);
    }
  }
};

std::vector<bool> Singletons(UnionFind& sets, const PassScope& scope) {
  std::vector<bool> single(sets.size());
  scope.ForEach([&](uint32_t p) { single[p] = sets.SetSize(sets.Find(p)) == 1; });
  return single;
}

void CountNewlyLinked(const ParticipantTable& table, UnionFind& sets, const std::vector<bool>& before,
                      const PassScope& scope, PassTally& tally) {
  scope.ForEach([&](uint32_t p) {
    if (before[p] && sets.SetSize(sets.Find(p)) > 1) tally.linked[table.dataset(p)]++;
  });
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
  if (tally.reviewed != 0) Set(all->mutable_pairs_reviewed(), tally.reviewed);
}

// The tokens on which a pair sharing a deterministic key must not disagree
// to be linked on the key alone (LinkageModel.key_reviews).
struct KeyReviewSlots {
  std::vector<int> slots;
  bool Disagree(const ParticipantTable& table, uint32_t p, uint32_t q) const {
    for (int slot : slots) {
      const uint64_t a = table.Key(p, slot), b = table.Key(q, slot);
      if (a != 0 && b != 0 && a != b) return true;
    }
    return false;
  }
};

// Joins the participants sharing each value of one match key. Every member
// of a group is tried against every other (a refusal between two of them
// does not keep the rest apart), and every merge goes through the guards.
// A pair the key's review tokens tell apart goes to `reviewed` instead,
// whether or not it is already linked, so the list depends on the keys
// alone (the quality estimate's shadow linkage reviews the same pairs).
// With `fresh`, only the groups and pairs holding a fresh participant.
void DeterministicPass(const ParticipantTable& table, int slot, uint32_t max_group, const std::vector<bool>* fresh,
                       const KeyReviewSlots& review, UnionFind& sets, MergeGuard& guard, PassTally& tally,
                       std::vector<uint64_t>& reviewed) {
  absl::flat_hash_set<uint64_t> fresh_keys;
  if (fresh != nullptr) {
    for (uint32_t p = 0; p < table.size(); ++p) {
      if ((*fresh)[p] && table.Key(p, slot) != 0) fresh_keys.insert(table.Key(p, slot));
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  entries.reserve(fresh == nullptr ? table.size() : fresh_keys.size() * 2);
  for (uint32_t p = 0; p < table.size(); ++p) {
    const uint64_t key = table.Key(p, slot);
    if (key == 0 || (fresh != nullptr && !fresh_keys.contains(key))) continue;
    entries.emplace_back(key, p);
    if (fresh == nullptr || (*fresh)[p]) tally.in[table.dataset(p)]++;
  }
  std::sort(entries.begin(), entries.end());
  std::vector<uint32_t> members;
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].first == entries[i].first) ++j;
    if (j - i > max_group) {
      tally.overshared++;  // implausibly many share it: flagged, not merged
      i = j;
      continue;
    }
    members.clear();
    for (size_t k = i; k < j; ++k) members.push_back(entries[k].second);
    if (guard.Ambiguous(members)) {
      tally.refused++;  // shared by people known to differ: nobody joins on it
      i = j;
      continue;
    }
    for (size_t x = i + 1; x < j; ++x) {
      const uint32_t p = entries[x].second;
      bool refused = false;
      for (size_t y = i; y < x; ++y) {
        const uint32_t q = entries[y].second;
        if (review.Disagree(table, p, q)) {
          if (fresh == nullptr || (*fresh)[p] || (*fresh)[q]) {
            reviewed.push_back((static_cast<uint64_t>(std::min(p, q)) << 32) | std::max(p, q));
            tally.reviewed++;
          }
          continue;
        }
        if (sets.Find(p) == sets.Find(q)) continue;
        if (guard.GivenNamesConflict(p, q) || !guard.TryMerge(p, q)) {
          refused = true;
          continue;
        }
        tally.merges++;
      }
      if (refused) tally.refused++;
    }
    i = j;
  }
}

// A configured review must name a deterministic key and have a model to
// weigh with; the default model's review is dropped where it cannot apply.
absl::Status ResolveKeyReviews(LinkageOptions& options, bool configured) {
  auto* reviews = options.fellegi_sunter.model.mutable_key_reviews();
  const auto& keys = options.deterministic_keys;
  for (int k = reviews->size() - 1; k >= 0; --k) {
    const std::string& key = reviews->Get(k).key();
    const bool usable = options.probabilistic && std::find(keys.begin(), keys.end(), key) != keys.end();
    if (usable) continue;
    if (!configured) {
      reviews->DeleteSubrange(k, 1);
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("linkage.model.key_reviews[", k, "].key: \"", key, "\" ",
                     options.probabilistic ? "is not one of linkage.deterministic_keys"
                                           : "cannot be reviewed with the probabilistic pass disabled"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> ReviewSlots(const ParticipantTable& table, const trelink::v1::KeyReview& review,
                                             int index) {
  std::vector<int> slots;
  for (const std::string& token : review.disagreeing_tokens()) {
    const int slot = table.Slot(token);
    if (slot < 0) {
      return absl::FailedPreconditionError(absl::StrCat("linkage.model.key_reviews[", index,
                                                        "].disagreeing_tokens: no stored batch carries the token \"",
                                                        token, "\""));
    }
    slots.push_back(slot);
  }
  return slots;
}

// A key stands unless the model finds its pair four times likelier two
// people than one.
constexpr double kDefaultReviewProbability = 0.2;

std::string ReviewPassName(const trelink::v1::KeyReview& review) { return review.key() + " reviewed"; }

// Links the pairs a key proposed and its review tokens spoke against, where
// the model accepts them; through the same guards as the key's own pass.
void ReviewPass(const ParticipantTable& table, const trelink::v1::KeyReview& review,
                const std::vector<uint64_t>& pairs, const PassScope& scope, ProbabilisticPass& pass, UnionFind& sets,
                MergeGuard& guard, trelink::v1::LinkageReport& report) {
  PassTally tally(table.datasets().size());
  const std::vector<bool> before = Singletons(sets, scope);
  // Its participants: those of the pairs it reviews (in an incremental
  // run, the fresh ones among them).
  std::vector<bool> in_scope(table.size(), scope.fresh == nullptr), counted(table.size(), false);
  if (scope.fresh != nullptr) {
    for (uint32_t p : *scope.fresh) in_scope[p] = true;
  }
  for (uint64_t pair : pairs) {
    for (const auto p : {static_cast<uint32_t>(pair >> 32), static_cast<uint32_t>(pair)}) {
      if (!in_scope[p] || counted[p]) continue;
      counted[p] = true;
      tally.in[table.dataset(p)]++;
    }
  }
  const double probability = review.match_probability() != 0 ? review.match_probability() : kDefaultReviewProbability;
  const std::vector<ScoredPair> accepted = pass.Reviewed(pairs, probability, sets);
  for (const ScoredPair& pair : accepted) {
    if (sets.Find(pair.a) == sets.Find(pair.b)) continue;
    if (guard.GivenNamesConflict(pair.a, pair.b) || !guard.TryMerge(pair.a, pair.b)) {
      tally.refused++;
      continue;
    }
    tally.merges++;
  }
  CountNewlyLinked(table, sets, before, scope, tally);
  AddPassReports(table, ReviewPassName(review), tally, report);
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
  const auto& quality = policy.quality();
  options.quality.enabled = !quality.disabled();
  if (!quality.gold_token().empty()) options.quality.gold_token = quality.gold_token();
  if (!quality.hidden_keys().empty()) options.quality.hidden_keys.assign(quality.hidden_keys().begin(), quality.hidden_keys().end());
  if (quality.min_gold_pairs() != 0) options.quality.min_gold_pairs = quality.min_gold_pairs();
  if (!quality.subgroup_attributes().empty()) {
    options.quality.subgroup_attributes.assign(quality.subgroup_attributes().begin(),
                                               quality.subgroup_attributes().end());
  }
  options.fellegi_sunter.model = policy.has_model() ? policy.model() : DefaultLinkageModel();
  TRELINK_RETURN_IF_ERROR(ValidateLinkageModel(options.fellegi_sunter.model));
  TRELINK_RETURN_IF_ERROR(ResolveKeyReviews(options, policy.has_model()));
  return options;
}

void LinkageOptions::AddCatalogueConstraints(const trelink::v1::Catalogue& catalogue) {
  for (const auto& dataset : catalogue.datasets()) {
    for (const auto& once : dataset.once_per_person()) {
      once_per_person.push_back({dataset.name(), once.role(), {once.events().begin(), once.events().end()}});
    }
    for (const auto& relation : dataset.relations()) {
      if (relation.one_from_role_person()) one_related_person.push_back({dataset.name(), relation.to_role()});
    }
  }
}

absl::StatusOr<LinkageResult> LinkParticipants(const ParticipantTable& table, const LinkageOptions& options,
                                               const PassObserver& observer, const IncrementalSeed* seed) {
  LinkageResult result;
  UnionFind sets(table.size());
  MergeGuard guard(table, sets, options.once_per_person, options.one_related_person);
  const size_t datasets = table.datasets().size();
  const std::vector<bool>* fresh = seed != nullptr ? seed->fresh : nullptr;
  std::vector<uint32_t> fresh_list;
  if (fresh != nullptr) {
    for (uint32_t p = 0; p < table.size(); ++p) {
      if ((*fresh)[p]) fresh_list.push_back(p);
    }
  }
  const PassScope scope{table.size(), fresh != nullptr ? &fresh_list : nullptr};
  if (seed != nullptr) {
    // The earlier persons that keep all their records stay as they were.
    const std::vector<uint32_t>& previous = *seed->previous_set_of;
    for (uint32_t p = 0; p < previous.size(); ++p) {
      if (!(*fresh)[p] && previous[p] != p) guard.Join(p, previous[p]);
    }
  }

  const auto& reviews = options.fellegi_sunter.model.key_reviews();
  std::vector<std::vector<uint64_t>> reviewed(static_cast<size_t>(reviews.size()));
  for (const std::string& key : options.deterministic_keys) {
    const int slot = table.Slot(key);
    if (slot < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("linkage.deterministic_keys: no stored batch carries the key \"", key, "\""));
    }
    KeyReviewSlots review;
    std::vector<uint64_t> unused;
    std::vector<uint64_t>* review_pairs = &unused;
    for (int k = 0; k < reviews.size(); ++k) {
      if (reviews[k].key() != key) continue;
      TRELINK_ASSIGN_OR_RETURN(review.slots, ReviewSlots(table, reviews[k], k));
      review_pairs = &reviewed[static_cast<size_t>(k)];
    }
    PassTally tally(datasets);
    const std::vector<bool> before = Singletons(sets, scope);
    DeterministicPass(table, slot, options.max_key_group, fresh, review, sets, guard, tally, *review_pairs);
    CountNewlyLinked(table, sets, before, scope, tally);
    AddPassReports(table, key, tally, result.report);
    if (observer) observer(key, sets);
  }

  std::unique_ptr<ProbabilisticPass> pass;
  if (options.probabilistic) {
    PassTally tally(datasets);
    const std::vector<bool> before = Singletons(sets, scope);
    scope.ForEach([&](uint32_t p) {
      if (!table.retired(p)) tally.in[table.dataset(p)]++;
    });
    // Rounds, because links feed the related_person comparison: babies
    // joined through their linked mothers can then join those mothers'
    // other records, and back.
    if (options.fitted_pass != nullptr) {
      TRELINK_ASSIGN_OR_RETURN(pass, options.fitted_pass->Hiding(table, sets, options.quality.hidden_keys));
    }
    if (pass == nullptr && seed != nullptr && seed->fitted != nullptr) {
      TRELINK_ASSIGN_OR_RETURN(
          pass, ProbabilisticPass::Resume(table, sets, options.fellegi_sunter, *seed->fitted, *fresh));
    }
    if (pass == nullptr) {
      TRELINK_ASSIGN_OR_RETURN(pass, ProbabilisticPass::Prepare(table, sets, options.fellegi_sunter));
    }
    for (int k = 0; k < reviews.size(); ++k) {
      ReviewPass(table, reviews[k], reviewed[static_cast<size_t>(k)], scope, *pass, sets, guard, result.report);
      if (observer) observer(ReviewPassName(reviews[k]), sets);
    }
    uint64_t accepted = 0;
    for (uint32_t round = 0; round < options.fellegi_sunter.rounds; ++round) {
      // Best first: the strongest pairs merge first, and a weaker pair that
      // would join two people a guard tells apart is refused alone, not with
      // every other pair of its participants. Given names are weighed by the
      // model here, not vetoed: a typo is not a twin, and twins are kept
      // apart by their two births and NHS numbers.
      uint64_t merged = 0;
      tally.refused = 0;  // a pair refused again in a later round counts once
      for (const ScoredPair& pair : pass->Accepted(sets)) {
        if (sets.Find(pair.a) == sets.Find(pair.b)) continue;
        if (!guard.TryMerge(pair.a, pair.b, MergeGuard::Evidence::kModelWeighed)) {
          tally.refused++;
          continue;
        }
        ++merged;
        tally.merges++;
      }
      accepted += merged;
      if (merged == 0) break;
    }
    trelink::v1::ProbabilisticReport report = pass->report();
    CountNewlyLinked(table, sets, before, scope, tally);
    AddPassReports(table, "probabilistic", tally, result.report);
    Set(report.mutable_accepted_pairs(), accepted);
    *result.report.mutable_probabilistic() = std::move(report);
    result.fitted = pass->fitted();
    if (observer) observer("probabilistic", sets);
  }

  result.set_of.resize(table.size());
  uint64_t persons = 0, participants = 0;
  for (uint32_t p = 0; p < table.size(); ++p) {
    result.set_of[p] = sets.Find(p);
    if (table.retired(p)) continue;
    ++participants;
    if (result.set_of[p] == p) ++persons;
  }
  if (options.quality.enabled && seed == nullptr) {
    TRELINK_ASSIGN_OR_RETURN(*result.report.mutable_quality(), EstimateQuality(table, result.set_of, options, result.report.probabilistic(), pass.get()));
  }
  uint64_t records = 0;  // a record's participants are adjacent
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (!table.retired(p) && (p == 0 || table.record_id(p - 1) != table.record_id(p))) ++records;
  }
  Set(result.report.mutable_records(), records);
  Set(result.report.mutable_participants(), participants);
  Set(result.report.mutable_persons(), persons);
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
  apply(report.mutable_records_sharing_nhs_number());
  apply(report.mutable_participants_relinked());
  for (auto& pass : *report.mutable_passes()) {
    apply(pass.mutable_participants_in());
    apply(pass.mutable_participants_linked());
    apply(pass.mutable_merges());
    apply(pass.mutable_merges_refused());
    apply(pass.mutable_overshared_keys());
    apply(pass.mutable_pairs_reviewed());
  }
  if (report.has_probabilistic()) apply(report.mutable_probabilistic()->mutable_accepted_pairs());
  if (report.has_opt_out()) {
    apply(report.mutable_opt_out()->mutable_persons_excluded());
    for (auto& excluded : *report.mutable_opt_out()->mutable_records_excluded()) apply(excluded.mutable_count());
  }
  if (report.has_lineage()) {
    trelink::v1::LineageReport& lineage = *report.mutable_lineage();
    for (auto* count : {lineage.mutable_kept(), lineage.mutable_new_persons(), lineage.mutable_merged(),
                        lineage.mutable_split(), lineage.mutable_left()}) {
      apply(count);
    }
  }
  for (auto& estimate : *report.mutable_quality()->mutable_estimates()) apply(estimate.mutable_gold_pairs());
  for (auto& subgroup : *report.mutable_quality()->mutable_subgroups()) {
    apply(subgroup.mutable_participants());
    // The error rates of a suppressed subgroup would describe a handful of people.
    if (subgroup.participants().suppressed()) {
      subgroup.set_missed_link_rate(0);
      subgroup.set_false_link_rate(0);
    }
  }
}

}  // namespace trelink
