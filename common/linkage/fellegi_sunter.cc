#include "common/linkage/fellegi_sunter.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace trelink {
namespace {

// A field resolved against the table: token slots per level.
struct ResolvedField {
  std::vector<int> slots;
  size_t levels() const { return slots.size() + 2; }  // + disagree + missing
  size_t disagree() const { return slots.size(); }
  size_t missing() const { return slots.size() + 1; }
};

class Comparator {
 public:
  Comparator(const ParticipantTable& table, const std::vector<ComparisonField>& fields) : table_(table) {
    for (const ComparisonField& f : fields) {
      ResolvedField r;
      for (const auto& level : f.levels) r.slots.push_back(table.Slot(level.second));
      fields_.push_back(r);
      radix_.push_back(r.levels());
    }
  }

  const std::vector<ResolvedField>& fields() const { return fields_; }

  size_t Level(size_t f, uint32_t a, uint32_t b) const {
    const ResolvedField& field = fields_[f];
    bool any_present = false;
    for (size_t l = 0; l < field.slots.size(); ++l) {
      const int slot = field.slots[l];
      if (slot < 0) continue;
      const uint64_t x = table_.Key(a, slot), y = table_.Key(b, slot);
      if (x == 0 || y == 0) continue;
      any_present = true;
      if (x == y) return l;
    }
    return any_present ? field.disagree() : field.missing();
  }

  uint32_t Pattern(uint32_t a, uint32_t b) const {
    uint32_t code = 0;
    for (size_t f = 0; f < fields_.size(); ++f) code = code * static_cast<uint32_t>(radix_[f]) + static_cast<uint32_t>(Level(f, a, b));
    return code;
  }

  // Decodes a pattern into per-field levels.
  std::vector<size_t> Levels(uint32_t code) const {
    std::vector<size_t> levels(fields_.size());
    for (size_t f = fields_.size(); f-- > 0;) {
      levels[f] = code % radix_[f];
      code /= static_cast<uint32_t>(radix_[f]);
    }
    return levels;
  }

  size_t PatternCount() const {
    size_t n = 1;
    for (size_t r : radix_) n *= r;
    return n;
  }

 private:
  const ParticipantTable& table_;
  std::vector<ResolvedField> fields_;
  std::vector<size_t> radix_;
};

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ull;
}

// The pairs one blocking rule makes.
std::vector<uint64_t> RulePairs(const ParticipantTable& table, const std::vector<std::string>& rule, uint32_t max_block) {
  std::vector<uint64_t> pairs;
  std::vector<int> slots;
  for (const std::string& name : rule) slots.push_back(table.Slot(name));
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

// Every pair of participants sharing a block, deduplicated, excluding pairs
// from one record (a mother and her baby are never the same person). The
// rules run on threads of their own.
std::vector<uint64_t> BlockedPairs(const ParticipantTable& table, uint32_t max_block) {
  const auto rules = DefaultBlockingRules();
  std::vector<std::vector<uint64_t>> per_rule(rules.size());
  std::vector<std::thread> workers;
  for (size_t r = 0; r < rules.size(); ++r) {
    workers.emplace_back([&, r] { per_rule[r] = RulePairs(table, rules[r], max_block); });
  }
  for (std::thread& w : workers) w.join();
  std::vector<uint64_t> pairs;
  for (auto& rule_pairs : per_rule) pairs.insert(pairs.end(), rule_pairs.begin(), rule_pairs.end());
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

constexpr double kFloor = 1e-6;
double Clamp(double p) { return std::min(1 - kFloor, std::max(kFloor, p)); }

}  // namespace

std::vector<ComparisonField> DefaultComparisonFields() {
  return {
      {"nhs_number", {{"exact", "t.nhs"}}},
      {"given_name", {{"exact", "t.given_name"}, {"phonetic", "t.given_phonetic"}}},
      {"family_name", {{"exact", "t.family_name"}, {"phonetic", "t.family_phonetic"}, {"swapped", "t.names_unordered"}}},
      {"date_of_birth",
       {{"exact", "t.dob"}, {"day_month_transposed", "t.dob_day_month_unordered"}, {"year_month", "t.dob_year_month"}}},
      {"sex", {{"exact", "t.sex"}}},
      {"postcode", {{"exact", "t.postcode"}, {"district", "t.postcode_district"}}},
  };
}

std::vector<std::vector<std::string>> DefaultBlockingRules() {
  return {{"t.dob", "t.given_phonetic"}, {"t.dob", "t.family_phonetic"}, {"t.given_name", "t.family_name"}};
}

ProbabilisticOutcome ScoreCandidatePairs(const ParticipantTable& table, UnionFind& sets,
                                         const ProbabilisticOptions& options) {
  ProbabilisticOutcome outcome;
  const std::vector<ComparisonField> spec = DefaultComparisonFields();
  const Comparator comparator(table, spec);
  const auto& fields = comparator.fields();
  const size_t n_fields = fields.size();

  // u: level frequencies among random pairs (almost all non-matches).
  std::vector<std::vector<double>> u(n_fields), m(n_fields);
  for (size_t f = 0; f < n_fields; ++f) {
    u[f].assign(fields[f].levels() - 1, 1.0);  // Laplace smoothing; missing has no probability
    m[f].assign(fields[f].levels() - 1, 0.0);
    for (size_t l = 0; l < fields[f].slots.size(); ++l) m[f][l] = 0.9 / static_cast<double>(fields[f].slots.size());
    m[f][fields[f].disagree()] = 0.1;
  }
  if (table.size() >= 2) {
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(table.size() - 1));
    for (uint32_t i = 0; i < options.random_pairs_for_u; ++i) {
      const uint32_t a = pick(rng), b = pick(rng);
      if (a == b) continue;
      for (size_t f = 0; f < n_fields; ++f) {
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

  // Candidate pairs and the counts of their comparison patterns.
  const std::vector<uint64_t> pairs = BlockedPairs(table, options.max_block_size);
  outcome.report.set_candidate_pairs(pairs.size());
  std::vector<double> pattern_count(comparator.PatternCount(), 0);
  std::vector<uint32_t> pair_pattern(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    pair_pattern[i] = comparator.Pattern(static_cast<uint32_t>(pairs[i] >> 32), static_cast<uint32_t>(pairs[i]));
    pattern_count[pair_pattern[i]] += 1;
  }
  std::vector<uint32_t> seen;
  for (uint32_t code = 0; code < pattern_count.size(); ++code) {
    if (pattern_count[code] > 0) seen.push_back(code);
  }
  std::vector<std::vector<size_t>> levels_of(pattern_count.size());
  for (uint32_t code : seen) levels_of[code] = comparator.Levels(code);

  // EM for m, u and the prior over the candidate pairs' pattern counts,
  // starting from u as measured on random pairs and a high m for agreement.
  double prior = 0.5;
  std::vector<double> posterior(pattern_count.size(), 0);
  auto likelihoods = [&](uint32_t code, double& pm, double& pu) {
    pm = 1;
    pu = 1;
    for (size_t f = 0; f < n_fields; ++f) {
      const size_t level = levels_of[code][f];
      if (level == fields[f].missing()) continue;
      pm *= m[f][level];
      pu *= u[f][level];
    }
  };
  uint32_t iterations = 0;
  for (; iterations < 500 && !seen.empty(); ++iterations) {
    double total = 0, matched = 0;
    std::vector<std::vector<double>> m_sum(n_fields), u_sum(n_fields);
    for (size_t f = 0; f < n_fields; ++f) {
      m_sum[f].assign(m[f].size(), 0);
      u_sum[f].assign(u[f].size(), 0);
    }
    for (uint32_t code : seen) {
      double pm, pu;
      likelihoods(code, pm, pu);
      const double p = prior * pm / (prior * pm + (1 - prior) * pu);
      const double c = pattern_count[code];
      total += c;
      matched += c * p;
      for (size_t f = 0; f < n_fields; ++f) {
        const size_t level = levels_of[code][f];
        if (level == fields[f].missing()) continue;
        m_sum[f][level] += c * p;
        u_sum[f][level] += c * (1 - p);
      }
    }
    double change = std::abs(matched / total - prior);
    prior = Clamp(matched / total);
    auto update = [&](std::vector<double>& probabilities, const std::vector<double>& sums) {
      double sum = 0;
      for (double v : sums) sum += v;
      if (sum <= 0) return;
      for (size_t l = 0; l < probabilities.size(); ++l) {
        const double next = Clamp(sums[l] / sum);
        change = std::max(change, std::abs(next - probabilities[l]));
        probabilities[l] = next;
      }
    };
    for (size_t f = 0; f < n_fields; ++f) {
      update(m[f], m_sum[f]);
      update(u[f], u_sum[f]);
    }
    if (change < 1e-8) {
      ++iterations;
      break;
    }
  }
  outcome.report.set_em_iterations(iterations);
  outcome.report.set_match_prior(prior);

  // Decide per pattern, then per pair.
  double threshold = INFINITY, accepted_mass = 0, accepted_count = 0, match_mass = 0;
  std::vector<double> weight(pattern_count.size(), 0);
  for (uint32_t code : seen) {
    double pm, pu;
    likelihoods(code, pm, pu);
    weight[code] = std::log2(pm / pu);
    const double p = prior * pm / (prior * pm + (1 - prior) * pu);
    posterior[code] = p;
    match_mass += pattern_count[code] * p;
    if (p >= options.match_probability) {
      threshold = std::min(threshold, weight[code]);
      accepted_mass += pattern_count[code] * p;
      accepted_count += pattern_count[code];
    }
  }
  outcome.report.set_threshold_weight(std::isfinite(threshold) ? threshold : 0);
  outcome.report.set_estimated_precision(accepted_count > 0 ? accepted_mass / accepted_count : 1);
  outcome.report.set_estimated_recall(match_mass > 0 ? accepted_mass / match_mass : 1);
  for (size_t f = 0; f < n_fields; ++f) {
    auto* w = outcome.report.add_weights();
    w->set_field(spec[f].name);
    for (size_t l = 0; l < m[f].size(); ++l) {
      w->add_levels(l < spec[f].levels.size() ? spec[f].levels[l].first : "disagree");
      w->add_m(m[f][l]);
      w->add_u(u[f][l]);
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
