#include "common/linkage/quality_estimate.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/linkage/linkage_engine.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Pair tallies of one scope.
struct Tally {
  double linked_gold = 0;         // real links, both carry the gold identifier
  double linked_gold_agree = 0;   // ... and it agrees
  double linked_other = 0;        // real links where one or both lack it
  double gold_pairs = 0;          // pairs whose gold identifiers agree
  double shadow_linked = 0;       // shadow links between gold carriers
  double shadow_agree = 0;        // ... whose gold identifiers agree
};

using Scope = std::pair<uint32_t, uint32_t>;  // the two participants' labels, low first

// Calls visit(a, b) for every pair of participants sharing a group key
// (0: in no group).
template <typename Visit>
void ForEachPairInGroups(const std::vector<uint64_t>& group, Visit visit) {
  std::vector<std::pair<uint64_t, uint32_t>> members;
  members.reserve(group.size());
  for (uint32_t p = 0; p < group.size(); ++p) {
    if (group[p] != 0) members.emplace_back(group[p], p);
  }
  std::sort(members.begin(), members.end());
  for (size_t i = 0; i < members.size();) {
    size_t j = i;
    while (j < members.size() && members[j].first == members[i].first) ++j;
    for (size_t x = i; x < j; ++x) {
      for (size_t y = x + 1; y < j; ++y) visit(members[x].second, members[y].second);
    }
    i = j;
  }
}

std::vector<uint64_t> Groups(const std::vector<uint32_t>& set_of) {
  std::vector<uint64_t> group(set_of.size());
  for (size_t p = 0; p < set_of.size(); ++p) group[p] = uint64_t{set_of[p]} + 1;
  return group;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 1.0; }

void SetEstimate(trelink::v1::QualityEstimate& out, double precision, double recall, double gold_pairs,
                 std::string method) {
  out.set_estimated(true);
  out.set_precision(precision);
  out.set_recall(recall);
  out.mutable_gold_pairs()->set_value(static_cast<uint64_t>(gold_pairs));
  out.set_method(std::move(method));
}

// P(the gold identifier disagrees | match): the fitted m of the "disagree"
// level of the comparison that tests the gold token first; 0 if none does.
double GoldErrorRate(const LinkageOptions& options, const trelink::v1::ProbabilisticReport& model) {
  for (const auto& comparison : options.fellegi_sunter.model.comparisons()) {
    if (comparison.levels().empty()) continue;
    const auto& tokens = comparison.levels(0).tokens();
    if (std::find(tokens.begin(), tokens.end(), options.quality.gold_token) == tokens.end()) continue;
    for (const auto& weights : model.weights()) {
      if (weights.field() == comparison.name() && weights.m_size() > 0) {
        return std::min(0.5, weights.m(weights.m_size() - 1));
      }
    }
  }
  return 0;
}

// Links between gold carriers that are correct: those whose gold agrees,
// and as many disagreeing ones as gold errors explain.
double CorrectLinks(double agree, double linked, double error_rate) {
  return agree + std::min(linked - agree, agree * error_rate / (1 - error_rate));
}

// Per-participant error tallies of the shadow linkage, summed by subgroup.
struct SubgroupTally {
  double participants = 0, partners = 0, missed = 0, linked = 0, wrong = 0;
};

void AddSubgroups(const ParticipantTable& table, const std::vector<uint64_t>& gold,
                  const std::vector<uint32_t>& shadow, trelink::v1::QualityReport& report) {
  absl::flat_hash_map<uint64_t, uint32_t> per_gold, per_set;
  absl::flat_hash_map<std::pair<uint64_t, uint32_t>, uint32_t> per_set_gold;
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (gold[p] == 0) continue;
    per_gold[gold[p]]++;
    per_set[shadow[p]]++;
    per_set_gold[{gold[p], shadow[p]}]++;
  }
  // Subgroups as (attribute, value index) while counting; named at the end.
  std::vector<std::string> attributes = {"dataset", "dataset_role"};
  for (const std::string& a : table.subgroup_attributes()) attributes.push_back(a);
  std::vector<absl::flat_hash_map<std::string, uint32_t>> value_index(attributes.size());
  std::vector<std::vector<std::string>> values(attributes.size());
  std::vector<std::vector<SubgroupTally>> sums(attributes.size());
  // Value indexes per dataset and per dataset/role label, computed once.
  auto index_of = [&](size_t a, const std::string& value) {
    auto [it, fresh] = value_index[a].try_emplace(value, static_cast<uint32_t>(values[a].size()));
    if (fresh) {
      values[a].push_back(value);
      sums[a].emplace_back();
    }
    return it->second;
  };
  absl::flat_hash_map<uint32_t, std::pair<uint32_t, uint32_t>> label_values;  // label -> (dataset, dataset_role)
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (gold[p] == 0) continue;
    const double partners = per_gold[gold[p]] - 1.0;
    const double together = per_set_gold[{gold[p], shadow[p]}] - 1.0;
    const double linked = per_set[shadow[p]] - 1.0;
    auto add = [&](size_t a, uint32_t value) {
      SubgroupTally& t = sums[a][value];
      t.participants++;
      t.partners += partners;
      t.missed += partners - together;
      t.linked += linked;
      t.wrong += linked - together;
    };
    const uint32_t label = static_cast<uint32_t>(table.dataset(p) * table.role_count() + table.role_index(p));
    auto known = label_values.find(label);
    if (known == label_values.end()) {
      known = label_values
                  .try_emplace(label, index_of(0, table.datasets()[table.dataset(p)]), index_of(1, table.Label(p)))
                  .first;
    }
    add(0, known->second.first);
    add(1, known->second.second);
    for (size_t a = 0; a < table.subgroup_attributes().size(); ++a) add(a + 2, index_of(a + 2, table.SubgroupValue(p, a)));
  }
  std::map<std::pair<std::string, std::string>, SubgroupTally> tallies;  // in a stable order
  for (size_t a = 0; a < attributes.size(); ++a) {
    for (size_t v = 0; v < values[a].size(); ++v) tallies[{attributes[a], values[a][v]}] = sums[a][v];
  }
  for (const auto& [key, t] : tallies) {
    auto* subgroup = report.add_subgroups();
    subgroup->set_attribute(key.first);
    subgroup->set_value(key.second);
    subgroup->mutable_participants()->set_value(static_cast<uint64_t>(t.participants));
    subgroup->set_missed_link_rate(t.partners > 0 ? t.missed / t.partners : 0);
    subgroup->set_false_link_rate(t.linked > 0 ? t.wrong / t.linked : 0);
  }
}

}  // namespace

absl::StatusOr<trelink::v1::QualityReport> EstimateQuality(const ParticipantTable& table,
                                                           const std::vector<uint32_t>& set_of,
                                                           const LinkageOptions& options,
                                                           const trelink::v1::ProbabilisticReport& model,
                                                           const ProbabilisticPass* fitted) {
  const QualityOptions& quality = options.quality;
  double gold_error = GoldErrorRate(options, model);
  trelink::v1::QualityReport report;
  report.set_gold_token(quality.gold_token);
  auto* all = report.add_estimates();
  all->set_scope("all");
  const int gold_slot = table.Slot(quality.gold_token);
  if (gold_slot < 0) {
    all->set_method(absl::StrCat("none: no stored batch carries the gold token \"", quality.gold_token, "\""));
    return report;
  }

  // The shadow linkage, pass by pass.
  ParticipantTable shadow = table;
  shadow.ClearKeys(quality.hidden_keys);
  LinkageOptions shadow_options = options;
  shadow_options.quality.enabled = false;
  shadow_options.fitted_pass = fitted;
  std::vector<std::pair<std::string, std::vector<uint32_t>>> shadow_passes;
  auto observer = [&](const std::string& pass, UnionFind& sets) {
    std::vector<uint32_t> labels(sets.size());
    for (uint32_t p = 0; p < sets.size(); ++p) labels[p] = sets.Find(p);
    shadow_passes.emplace_back(pass, std::move(labels));
  };
  TRELINK_RETURN_IF_ERROR(LinkParticipants(shadow, shadow_options, observer).status());

  std::vector<uint64_t> gold(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) gold[p] = table.Key(p, gold_slot);
  auto label = [&](uint32_t p) {
    return static_cast<uint32_t>(table.dataset(p) * table.role_count() + table.role_index(p));
  };
  auto scope = [&](uint32_t a, uint32_t b) {
    const uint32_t x = label(a), y = label(b);
    return Scope(std::min(x, y), std::max(x, y));
  };
  std::map<Scope, Tally> tallies;
  std::map<Scope, std::string> scope_names;
  ForEachPairInGroups(Groups(set_of), [&](uint32_t a, uint32_t b) {
    const Scope s = scope(a, b);
    if (!scope_names.count(s)) scope_names[s] = absl::StrCat(table.Label(a), " ~ ", table.Label(b));
    Tally& t = tallies[s];
    if (gold[a] != 0 && gold[b] != 0) {
      t.linked_gold++;
      if (gold[a] == gold[b]) t.linked_gold_agree++;
    } else {
      t.linked_other++;
    }
  });
  ForEachPairInGroups(gold, [&](uint32_t a, uint32_t b) {
    const Scope s = scope(a, b);
    if (!scope_names.count(s)) scope_names[s] = absl::StrCat(table.Label(a), " ~ ", table.Label(b));
    tallies[s].gold_pairs++;
  });
  auto score_shadow = [&](const std::vector<uint32_t>& labels, std::map<Scope, Tally>* into, Tally& total) {
    ForEachPairInGroups(Groups(labels), [&](uint32_t a, uint32_t b) {
      if (gold[a] == 0 || gold[b] == 0) return;
      const bool agree = gold[a] == gold[b];
      total.shadow_linked++;
      total.shadow_agree += agree;
      if (into != nullptr) {
        Tally& t = (*into)[scope(a, b)];
        t.shadow_linked++;
        t.shadow_agree += agree;
      }
    });
  };
  Tally total;
  for (const auto& [s, t] : tallies) {
    total.gold_pairs += t.gold_pairs;
    total.linked_gold += t.linked_gold;
    total.linked_gold_agree += t.linked_gold_agree;
  }
  // The gold identifier cannot disagree on more true matches than it does on
  // the links made: a bound that keeps a model fitted on little data honest.
  gold_error = std::min(gold_error, 1 - Ratio(total.linked_gold_agree, total.linked_gold));
  score_shadow(shadow_passes.back().second, &tallies, total);
  if (total.gold_pairs == 0) {
    all->set_method(absl::StrCat("none: no two participants share a ", quality.gold_token));
    return report;
  }
  report.set_method(absl::StrFormat(
      "the records carrying %s were linked again with it hidden, and that linkage scored on them; links where both "
      "sides carry it are scored against it, the rest are assumed as good as the hidden linkage was for the same "
      "datasets and roles; %s disagrees on %.2f%% of true matches (the model's m), which the figures allow for",
      quality.gold_token, quality.gold_token, 100 * gold_error));
  const double all_precision = Ratio(CorrectLinks(total.shadow_agree, total.shadow_linked, gold_error), total.shadow_linked);
  const double all_recall = Ratio(total.shadow_agree, total.gold_pairs);

  // Per dataset/role pair, then summed for "all".
  double correct_sum = 0, true_sum = 0, linked_sum = 0;
  for (const auto& [s, t] : tallies) {
    auto* estimate = report.add_estimates();
    estimate->set_scope(scope_names[s]);
    const bool own = t.gold_pairs >= quality.min_gold_pairs && t.shadow_linked > 0;
    const double p = own ? Ratio(CorrectLinks(t.shadow_agree, t.shadow_linked, gold_error), t.shadow_linked)
                         : all_precision;
    const double r = own ? Ratio(t.shadow_agree, t.gold_pairs) : all_recall;
    const double correct = CorrectLinks(t.linked_gold_agree, t.linked_gold, gold_error) + t.linked_other * p;
    const double truly = t.gold_pairs / (1 - gold_error) + (r > 0 ? t.linked_other * p / r : 0);
    const double linked = t.linked_gold + t.linked_other;
    correct_sum += correct;
    true_sum += truly;
    linked_sum += linked;
    SetEstimate(*estimate, Ratio(correct, linked), Ratio(correct, truly), t.gold_pairs,
                own ? "gold pairs of this scope"
                    : absl::StrFormat("extrapolated from all gold pairs: %s", t.gold_pairs == 0
                                                                                 ? "none in this scope"
                                                                                 : "too few in this scope"));
  }
  SetEstimate(*all, Ratio(correct_sum, linked_sum), Ratio(correct_sum, true_sum), total.gold_pairs,
              "combined over the dataset/role pairs below");

  // The shadow linkage after each pass: how much each pass adds when the
  // gold identifier is not there to help.
  for (const auto& [pass, labels] : shadow_passes) {
    Tally pass_total = total;
    pass_total.shadow_linked = pass_total.shadow_agree = 0;
    score_shadow(labels, nullptr, pass_total);
    auto* estimate = report.add_estimates();
    estimate->set_scope(absl::StrCat("pass ", pass, " (", quality.gold_token, " hidden)"));
    SetEstimate(*estimate,
                Ratio(CorrectLinks(pass_total.shadow_agree, pass_total.shadow_linked, gold_error),
                      pass_total.shadow_linked),
                Ratio(pass_total.shadow_agree, pass_total.gold_pairs), pass_total.gold_pairs,
                "cumulative after the pass, scored on gold pairs");
  }
  AddSubgroups(table, gold, shadow_passes.back().second, report);
  return report;
}

}  // namespace trelink
