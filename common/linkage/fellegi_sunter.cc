#include "common/linkage/fellegi_sunter.h"

#include "common/linkage/comparator.h"
#include "common/linkage/linkage_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ull;
}

// The pairs one blocking rule makes.
std::vector<uint64_t> RulePairs(const ParticipantTable& table, const trelink::v1::BlockingRule& rule, uint32_t max_block) {
  std::vector<uint64_t> pairs;
  std::vector<int> slots;
  for (const std::string& name : rule.tokens()) slots.push_back(table.Slot(name));
  if (std::find(slots.begin(), slots.end(), -1) != slots.end()) return pairs;
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  entries.reserve(table.size());
  for (uint32_t p = 0; p < table.size(); ++p) {
    uint64_t h = 0x12345;
    bool complete = true;
    for (int slot : slots) {
      const uint64_t v = table.Key(p, slot);
      complete = complete && v != 0;
      h = Mix(h, v);
    }
    if (complete) entries.emplace_back(h, p);
  }
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].first == entries[i].first) ++j;
    if (j - i <= max_block) {
      for (size_t x = i; x < j; ++x) {
        for (size_t y = x + 1; y < j; ++y) {
          const uint32_t a = entries[x].second, b = entries[y].second;
          if (table.record_id(a) == table.record_id(b)) continue;
          pairs.push_back((static_cast<uint64_t>(std::min(a, b)) << 32) | std::max(a, b));
        }
      }
    }
    i = j;
  }
  return pairs;
}

// The pairs of each blocking rule, on threads of their own. Pairs within one
// record are left out (a mother and her baby are never the same person).
std::vector<std::vector<uint64_t>> PairsPerRule(const ParticipantTable& table,
                                                const google::protobuf::RepeatedPtrField<trelink::v1::BlockingRule>& rules,
                                                uint32_t max_block) {
  std::vector<std::vector<uint64_t>> per_rule(static_cast<size_t>(rules.size()));
  std::vector<std::thread> workers;
  for (int r = 0; r < rules.size(); ++r) {
    workers.emplace_back([&, r] { per_rule[static_cast<size_t>(r)] = RulePairs(table, rules[r], max_block); });
  }
  for (std::thread& w : workers) w.join();
  return per_rule;
}

std::vector<uint64_t> Union(const std::vector<std::vector<uint64_t>>& per_rule) {
  std::vector<uint64_t> pairs;
  for (const auto& rule_pairs : per_rule) pairs.insert(pairs.end(), rule_pairs.begin(), rule_pairs.end());
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

constexpr double kFloor = 1e-6;
double Clamp(double p) { return std::min(1 - kFloor, std::max(kFloor, p)); }

// Probabilities per field and level ("missing" has none: it is left out of
// the likelihood).
using LevelProbabilities = std::vector<std::vector<double>>;

// Level frequencies among random pairs. Almost every random pair is a
// non-match, so this is u; it is held fixed afterwards. Estimating u on
// blocked pairs instead would make agreement on the blocking fields
// worthless, since every blocked pair agrees on them.
LevelProbabilities EstimateU(const ParticipantTable& table, const Comparator& comparator,
                             const ProbabilisticOptions& options) {
  const auto& fields = comparator.comparisons();
  LevelProbabilities u(fields.size());
  for (size_t f = 0; f < fields.size(); ++f) u[f].assign(fields[f].levels() - 1, 1.0);  // Laplace smoothing
  if (table.size() >= 2) {
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(table.size() - 1));
    for (uint32_t i = 0; i < options.random_pairs_for_u; ++i) {
      const uint32_t a = pick(rng), b = pick(rng);
      if (a == b || table.record_id(a) == table.record_id(b)) continue;
      for (size_t f = 0; f < fields.size(); ++f) {
        const size_t level = comparator.Level(f, a, b);
        if (level != fields[f].missing()) u[f][level] += 1;
      }
    }
  }
  for (auto& levels : u) {
    double total = 0;
    for (double c : levels) total += c;
    for (double& c : levels) c = Clamp(c / total);
  }
  return u;
}

// How many candidate pairs show each comparison pattern.
struct PatternCounts {
  std::vector<double> count;   // by pattern code
  std::vector<uint32_t> seen;  // codes with a count
};

PatternCounts CountPatterns(const Comparator& comparator, const std::vector<uint64_t>& pairs,
                            std::vector<uint32_t>* pair_pattern) {
  PatternCounts counts;
  counts.count.assign(comparator.PatternCount(), 0);
  if (pair_pattern != nullptr) pair_pattern->resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const uint32_t code = comparator.Pattern(static_cast<uint32_t>(pairs[i] >> 32), static_cast<uint32_t>(pairs[i]));
    counts.count[code] += 1;
    if (pair_pattern != nullptr) (*pair_pattern)[i] = code;
  }
  for (uint32_t code = 0; code < counts.count.size(); ++code) {
    if (counts.count[code] > 0) counts.seen.push_back(code);
  }
  return counts;
}

// The per-field levels of every pattern code, decoded once.
class PatternLevels {
 public:
  explicit PatternLevels(const Comparator& comparator) : comparator_(comparator), levels_(comparator.PatternCount()) {}
  const std::vector<size_t>& operator[](uint32_t code) {
    if (levels_[code].empty()) levels_[code] = comparator_.Levels(code);
    return levels_[code];
  }

 private:
  const Comparator& comparator_;
  std::vector<std::vector<size_t>> levels_;
};

// m- and u-likelihoods of a pattern over the fields in `use`.
void Likelihoods(const std::vector<ResolvedComparison>& fields, const std::vector<size_t>& levels,
                 const LevelProbabilities& m, const LevelProbabilities& u, const std::vector<bool>& use, double& pm,
                 double& pu) {
  pm = 1;
  pu = 1;
  for (size_t f = 0; f < fields.size(); ++f) {
    if (!use[f] || levels[f] == fields[f].missing()) continue;
    pm *= m[f][levels[f]];
    pu *= u[f][levels[f]];
  }
}

struct MatchFit {
  LevelProbabilities m;
  double prior = 0.5;
  uint32_t iterations = 0;
};

// EM over one set of candidate pairs with u held fixed: re-estimates the
// match prior and, when `fit_m`, m of the fields in `use` (the others keep
// theirs and are left out of the likelihood).
MatchFit FitMatchClass(const Comparator& comparator, PatternLevels& levels_of, const PatternCounts& patterns,
                       const LevelProbabilities& u, LevelProbabilities m, const std::vector<bool>& use, bool fit_m,
                       double prior) {
  const auto& fields = comparator.comparisons();
  MatchFit fit;
  uint32_t iterations = 0;
  for (; iterations < 500 && !patterns.seen.empty(); ++iterations) {
    double total = 0, matched = 0;
    LevelProbabilities m_sum(fields.size());
    for (size_t f = 0; f < fields.size(); ++f) m_sum[f].assign(m[f].size(), 0);
    for (uint32_t code : patterns.seen) {
      const std::vector<size_t>& levels = levels_of[code];
      double pm, pu;
      Likelihoods(fields, levels, m, u, use, pm, pu);
      const double p = prior * pm / (prior * pm + (1 - prior) * pu);
      const double c = patterns.count[code];
      total += c;
      matched += c * p;
      for (size_t f = 0; f < fields.size(); ++f) {
        if (levels[f] != fields[f].missing()) m_sum[f][levels[f]] += c * p;
      }
    }
    double change = std::abs(matched / total - prior);
    prior = Clamp(matched / total);
    for (size_t f = 0; fit_m && f < fields.size(); ++f) {
      if (!use[f]) continue;
      double sum = 0;
      for (double v : m_sum[f]) sum += v;
      if (sum <= 0) continue;
      for (size_t l = 0; l < m[f].size(); ++l) {
        const double next = Clamp(m_sum[f][l] / sum);
        change = std::max(change, std::abs(next - m[f][l]));
        m[f][l] = next;
      }
    }
    if (change < 1e-8) {
      ++iterations;
      break;
    }
  }
  fit.m = std::move(m);
  fit.prior = prior;
  fit.iterations = iterations;
  return fit;
}

// Comparisons a blocking rule fixes: every pair it makes agrees on one of
// their levels, so their m cannot be learnt from its pairs.
std::vector<bool> ComparisonsOutsideRule(const trelink::v1::LinkageModel& model, const trelink::v1::BlockingRule& rule) {
  std::vector<bool> outside(static_cast<size_t>(model.comparisons_size()), true);
  for (int c = 0; c < model.comparisons_size(); ++c) {
    for (const auto& level : model.comparisons(c).levels()) {
      for (const std::string& token : level.tokens()) {
        if (std::find(rule.tokens().begin(), rule.tokens().end(), token) != rule.tokens().end()) {
          outside[static_cast<size_t>(c)] = false;
        }
      }
    }
  }
  return outside;
}

// Per participant, the set of its related person (kNoRelated if none).
std::vector<uint32_t> RelatedSets(const ParticipantTable& table, UnionFind& sets) {
  std::vector<uint32_t> related = RelatedParticipants(table);
  for (uint32_t& r : related) {
    if (r != kNoRelated) r = sets.Find(r);
  }
  return related;
}

}  // namespace

absl::StatusOr<ProbabilisticOutcome> ScoreCandidatePairs(const ParticipantTable& table, UnionFind& sets,
                                                         const ProbabilisticOptions& options) {
  ProbabilisticOutcome outcome;
  const trelink::v1::LinkageModel& model = options.model;
  const auto& rules = model.blocking_rules();
  for (int r = 0; r < rules.size(); ++r) {
    for (const std::string& token : rules[r].tokens()) {
      if (table.Slot(token) < 0) {
        return absl::FailedPreconditionError(absl::StrCat("linkage.model.blocking_rules[", r,
                                                          "].tokens: no stored batch carries the token \"", token,
                                                          "\""));
      }
    }
  }
  const std::vector<uint32_t> related_sets = RelatedSets(table, sets);
  TRELINK_ASSIGN_OR_RETURN(const Comparator comparator, Comparator::Create(table, model, related_sets));
  const auto& fields = comparator.comparisons();
  const size_t n_fields = fields.size();
  PatternLevels levels_of(comparator);

  const LevelProbabilities u = EstimateU(table, comparator, options);
  LevelProbabilities m(n_fields);
  for (size_t f = 0; f < n_fields; ++f) {
    m[f].assign(fields[f].levels() - 1, 0.0);
    for (size_t l = 0; l < fields[f].level_slots.size(); ++l) {
      m[f][l] = 0.9 / static_cast<double>(fields[f].level_slots.size());
    }
    m[f][fields[f].disagree()] = 0.1;
  }

  // m per blocking rule, from the fields the rule does not fix (as Splink
  // does); each field's m is the mean over the rules that could learn it.
  const std::vector<std::vector<uint64_t>> per_rule = PairsPerRule(table, rules, options.max_block_size);
  LevelProbabilities m_total(n_fields);
  std::vector<int> m_rules(n_fields, 0);
  for (size_t f = 0; f < n_fields; ++f) m_total[f].assign(m[f].size(), 0);
  uint32_t iterations = 0;
  for (int r = 0; r < rules.size(); ++r) {
    const std::vector<bool> use = ComparisonsOutsideRule(model, rules[r]);
    const PatternCounts patterns = CountPatterns(comparator, per_rule[static_cast<size_t>(r)], nullptr);
    if (patterns.seen.empty()) continue;
    const MatchFit fit = FitMatchClass(comparator, levels_of, patterns, u, m, use, /*fit_m=*/true, 0.5);
    iterations += fit.iterations;
    for (size_t f = 0; f < n_fields; ++f) {
      if (!use[f]) continue;
      for (size_t l = 0; l < m[f].size(); ++l) m_total[f][l] += fit.m[f][l];
      m_rules[f]++;
    }
  }
  for (size_t f = 0; f < n_fields; ++f) {
    if (m_rules[f] == 0) continue;
    for (size_t l = 0; l < m[f].size(); ++l) m[f][l] = m_total[f][l] / m_rules[f];
  }

  // The prior is that of two random participants being one person, not
  // that of a blocked pair: blocking picks pairs by the evidence, so a
  // prior fitted to blocked pairs would count that evidence twice. The
  // pairs the deterministic passes linked give its numerator.
  const std::vector<uint64_t> pairs = Union(per_rule);
  outcome.report.set_candidate_pairs(pairs.size());
  std::vector<uint32_t> pair_pattern;
  const PatternCounts patterns = CountPatterns(comparator, pairs, &pair_pattern);
  const std::vector<bool> all(n_fields, true);
  double linked_pairs = 0;
  for (uint32_t p = 0; p < table.size(); ++p) {
    if (sets.Find(p) == p) linked_pairs += 0.5 * sets.SetSize(p) * (sets.SetSize(p) - 1.0);
  }
  const double all_pairs = 0.5 * static_cast<double>(table.size()) * (static_cast<double>(table.size()) - 1);
  const double prior = all_pairs > 0 ? std::min(0.5, std::max(1.0, linked_pairs) / all_pairs) : 0.5;
  outcome.report.set_em_iterations(iterations);
  outcome.report.set_match_prior(prior);

  // Decide per pattern, then per pair.
  double threshold = INFINITY;
  std::vector<double> weight(patterns.count.size(), 0), posterior(patterns.count.size(), 0);
  for (uint32_t code : patterns.seen) {
    double pm, pu;
    Likelihoods(fields, levels_of[code], m, u, all, pm, pu);
    weight[code] = std::log2(pm / pu);
    posterior[code] = prior * pm / (prior * pm + (1 - prior) * pu);
    if (posterior[code] >= options.match_probability) threshold = std::min(threshold, weight[code]);
  }
  outcome.report.set_threshold_weight(std::isfinite(threshold) ? threshold : 0);
  for (size_t f = 0; f < n_fields; ++f) {
    auto* w = outcome.report.add_weights();
    w->set_field(model.comparisons(static_cast<int>(f)).name());
    for (size_t l = 0; l < m[f].size(); ++l) {
      w->add_levels(l < fields[f].level_slots.size() ? model.comparisons(static_cast<int>(f)).levels(static_cast<int>(l)).name()
                                                     : "disagree");
      w->add_m(m[f][l]);
      w->add_u(u[f][l]);
      w->add_match_weight(std::log2(m[f][l] / u[f][l]));
    }
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    const uint32_t code = pair_pattern[i];
    if (posterior[code] < options.match_probability) continue;
    const uint32_t a = static_cast<uint32_t>(pairs[i] >> 32), b = static_cast<uint32_t>(pairs[i]);
    if (sets.Find(a) == sets.Find(b)) continue;
    outcome.accepted.push_back({a, b, weight[code]});
  }
  std::stable_sort(outcome.accepted.begin(), outcome.accepted.end(),
                   [](const ScoredPair& x, const ScoredPair& y) { return x.weight > y.weight; });
  return outcome;
}

}  // namespace trelink
