#include "common/linkage/fellegi_sunter.h"

#include "common/linkage/blocking.h"
#include "common/linkage/comparator.h"
#include "common/linkage/linkage_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <mutex>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/concurrency/parallel.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Below this many candidate pairs, scoring runs on one thread.
constexpr size_t kParallelPairs = 100000;

constexpr double kFloor = 1e-6;
// Strongest first; ties in pair order, so a run is reproducible.
void SortStrongestFirst(std::vector<ScoredPair>& pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.weight != y.weight ? x.weight > y.weight : std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });
}

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

// The pattern counts of the candidate pairs a rule proposes (all pairs when
// `rule` is negative).
PatternCounts CountPatterns(size_t pattern_count, const std::vector<uint32_t>& codes,
                            const std::vector<uint32_t>& rules, int rule) {
  PatternCounts counts;
  counts.count.assign(pattern_count, 0);
  for (size_t i = 0; i < codes.size(); ++i) {
    if (rule < 0 || (rules[i] >> rule & 1) != 0) counts.count[codes[i]] += 1;
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
  uint32_t iterations = 0;
};

// EM over one set of candidate pairs with u held fixed: re-estimates the
// match prior and m of the fields in `use` (the others keep
// theirs and are left out of the likelihood).
MatchFit FitMatchClass(const Comparator& comparator, PatternLevels& levels_of, const PatternCounts& patterns,
                       const LevelProbabilities& u, LevelProbabilities m, const std::vector<bool>& use,
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
    for (size_t f = 0; f < fields.size(); ++f) {
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

}  // namespace

ProbabilisticPass::ProbabilisticPass(const ParticipantTable& table, const ProbabilisticOptions& options)
    : table_(table), options_(options) {}

namespace {

absl::Status CheckBlockingTokens(const ParticipantTable& table, const trelink::v1::LinkageModel& model) {
  const auto& rules = model.blocking_rules();
  for (int r = 0; r < rules.size(); ++r) {
    for (const std::string& token : rules[r].tokens()) {
      if (token != kRelatedPersonToken && table.Slot(token) < 0) {
        return absl::FailedPreconditionError(absl::StrCat("linkage.model.blocking_rules[", r,
                                                          "].tokens: no stored batch carries the token \"", token,
                                                          "\""));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProbabilisticPass>> ProbabilisticPass::Unfitted(const ParticipantTable& table,
                                                                               UnionFind& sets,
                                                                               const ProbabilisticOptions& options) {
  TRELINK_RETURN_IF_ERROR(CheckBlockingTokens(table, options.model));
  std::unique_ptr<ProbabilisticPass> pass(new ProbabilisticPass(table, options));
  pass->related_participant_ = RelatedParticipants(table);
  pass->RefreshRelated(sets);
  TRELINK_ASSIGN_OR_RETURN(Comparator comparator, Comparator::Create(table, options.model, pass->related_set_));
  pass->comparator_ = std::make_unique<Comparator>(std::move(comparator));
  return pass;
}

absl::StatusOr<std::unique_ptr<ProbabilisticPass>> ProbabilisticPass::Prepare(const ParticipantTable& table,
                                                                              UnionFind& sets,
                                                                              const ProbabilisticOptions& options) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ProbabilisticPass> pass, Unfitted(table, sets, options));
  pass->Fit(sets);
  return pass;
}

absl::StatusOr<std::unique_ptr<ProbabilisticPass>> ProbabilisticPass::Resume(const ParticipantTable& table,
                                                                             UnionFind& sets,
                                                                             const ProbabilisticOptions& options,
                                                                             const FittedModel& fitted,
                                                                             const std::vector<bool>& fresh) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ProbabilisticPass> pass, Unfitted(table, sets, options));
  pass->m_ = fitted.m;
  pass->u_ = fitted.u;
  pass->level_weight_ = fitted.level_weight;
  pass->prior_ = fitted.prior;
  pass->threshold_ = fitted.threshold;
  pass->report_ = fitted.report;
  pass->report_.set_em_iterations(0);
  pass->Compare(&fresh);
  pass->TermFrequencies();
  return pass;
}

void ProbabilisticPass::Compare(const std::vector<bool>* fresh) {
  const Comparator& comparator = *comparator_;
  candidates_ = BlockPairs(table_, options_.model.blocking_rules(), options_.max_block_size, related_set_, fresh);
  report_.set_candidate_pairs(candidates_.pairs.size());
  codes_.resize(candidates_.pairs.size());
  InParallel(candidates_.pairs.size(), [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      codes_[i] = comparator.Pattern(PairFirst(candidates_.pairs[i]), PairSecond(candidates_.pairs[i]));
    }
  }, kParallelPairs);
}

void ProbabilisticPass::RefreshRelated(UnionFind& sets) {
  related_set_.resize(related_participant_.size());
  for (size_t p = 0; p < related_participant_.size(); ++p) {
    const uint32_t r = related_participant_[p];
    related_set_[p] = r == kNoRelated ? kNoRelated : sets.Find(r);
  }
}

void ProbabilisticPass::Fit(UnionFind& sets) {
  const trelink::v1::LinkageModel& model = options_.model;
  const auto& rules = model.blocking_rules();
  const Comparator& comparator = *comparator_;
  const auto& fields = comparator.comparisons();
  const size_t n_fields = fields.size();
  PatternLevels levels_of(comparator);

  Compare(nullptr);

  u_ = EstimateU(table_, comparator, options_);
  m_.assign(n_fields, {});
  for (size_t f = 0; f < n_fields; ++f) {
    m_[f].assign(fields[f].levels() - 1, 0.0);
    for (size_t l = 0; l < fields[f].level_slots.size(); ++l) {
      m_[f][l] = 0.9 / static_cast<double>(fields[f].level_slots.size());
    }
    m_[f][fields[f].disagree()] = 0.1;
  }

  // m per blocking rule, from the comparisons the rule does not fix (as
  // Splink does); each comparison's m is the mean over the rules that could
  // learn it.
  LevelProbabilities m_total(n_fields);
  std::vector<int> m_rules(n_fields, 0);
  for (size_t f = 0; f < n_fields; ++f) m_total[f].assign(m_[f].size(), 0);
  uint32_t iterations = 0;
  for (int r = 0; r < rules.size(); ++r) {
    const std::vector<bool> use = ComparisonsOutsideRule(model, rules[r]);
    const PatternCounts patterns = CountPatterns(comparator.PatternCount(), codes_, candidates_.rules, r);
    if (patterns.seen.empty()) continue;
    const MatchFit fit = FitMatchClass(comparator, levels_of, patterns, u_, m_, use, 0.5);
    iterations += fit.iterations;
    for (size_t f = 0; f < n_fields; ++f) {
      if (!use[f]) continue;
      for (size_t l = 0; l < m_[f].size(); ++l) m_total[f][l] += fit.m[f][l];
      m_rules[f]++;
    }
  }
  for (size_t f = 0; f < n_fields; ++f) {
    if (m_rules[f] == 0) continue;
    for (size_t l = 0; l < m_[f].size(); ++l) m_[f][l] = m_total[f][l] / m_rules[f];
  }
  report_.set_em_iterations(iterations);

  // The prior is that of two random participants being one person, not
  // that of a blocked pair: blocking picks pairs by the evidence, so a
  // prior fitted to blocked pairs would count that evidence twice. The
  // pairs the deterministic passes linked give its numerator.
  double linked_pairs = 0;
  for (uint32_t p = 0; p < table_.size(); ++p) {
    if (sets.Find(p) == p) linked_pairs += 0.5 * sets.SetSize(p) * (sets.SetSize(p) - 1.0);
  }
  const double all_pairs = 0.5 * static_cast<double>(table_.size()) * (static_cast<double>(table_.size()) - 1);
  prior_ = all_pairs > 0 ? std::min(0.5, std::max(1.0, linked_pairs) / all_pairs) : 0.5;
  report_.set_match_prior(prior_);

  // Match weights per level; a pair's weight is their sum, and the threshold
  // is the weight at which the posterior reaches match_probability.
  level_weight_.assign(n_fields, {});
  for (size_t f = 0; f < n_fields; ++f) {
    level_weight_[f].assign(fields[f].levels(), 0.0);  // the last level, "missing", stays 0
    for (size_t l = 0; l < m_[f].size(); ++l) level_weight_[f][l] = std::log2(m_[f][l] / u_[f][l]);
  }
  TermFrequencies();
  const double prior_odds = std::log2(prior_ / (1 - prior_));
  const double needed = std::log2(options_.match_probability / (1 - options_.match_probability));
  threshold_ = needed - prior_odds;
  report_.set_threshold_weight(threshold_);
  for (size_t f = 0; f < n_fields; ++f) {
    auto* w = report_.add_weights();
    w->set_field(model.comparisons(static_cast<int>(f)).name());
    w->set_term_frequency(model.comparisons(static_cast<int>(f)).term_frequency());
    for (size_t l = 0; l < m_[f].size(); ++l) {
      w->add_levels(l < fields[f].level_slots.size()
                        ? model.comparisons(static_cast<int>(f)).levels(static_cast<int>(l)).name()
                        : "disagree");
      w->add_m(m_[f][l]);
      w->add_u(u_[f][l]);
      w->add_match_weight(std::log2(m_[f][l] / u_[f][l]));
    }
  }
}

std::vector<float> TermFrequencyAdjustments(const ParticipantTable& table, int slot, double u) {
  absl::flat_hash_map<uint64_t, uint32_t> count;
  uint64_t carriers = 0;
  for (uint32_t p = 0; p < table.size(); ++p) {
    const uint64_t v = table.Key(p, slot);
    if (v == 0) continue;
    count[v]++;
    carriers++;
  }
  std::vector<float> adjust(table.size(), 0.0f);
  for (uint32_t p = 0; p < table.size(); ++p) {
    const uint64_t v = table.Key(p, slot);
    if (v == 0) continue;
    const double frequency = static_cast<double>(count[v]) / static_cast<double>(carriers);
    adjust[p] = static_cast<float>(std::log2(u / std::max(frequency, 1e-9)));
  }
  return adjust;
}

void ProbabilisticPass::TermFrequencies() {
  const trelink::v1::LinkageModel& model = options_.model;
  for (int c = 0; c < model.comparisons_size(); ++c) {
    const auto& comparison = model.comparisons(c);
    if (!comparison.term_frequency() || comparison.levels().empty() || comparison.levels(0).tokens().empty()) continue;
    const int slot = table_.Slot(comparison.levels(0).tokens(0));
    if (slot < 0) continue;
    std::vector<float> adjust = TermFrequencyAdjustments(table_, slot, u_[static_cast<size_t>(c)][0]);
    term_frequency_.emplace_back(static_cast<size_t>(c), std::move(adjust));
  }
}

double ProbabilisticPass::Weight(uint32_t code, uint32_t a) const {
  double weight = Weight(code);
  for (const auto& [c, adjust] : term_frequency_) {
    if (comparator_->LevelOf(code, c) == 0) weight += adjust[a];
  }
  return weight;
}

double ProbabilisticPass::Weight(uint32_t code) const {
  // log2(pm / pu) is the sum of the levels' log2(m / u); "missing" adds 0.
  double weight = 0;
  for (size_t c = 0; c < level_weight_.size(); ++c) weight += level_weight_[c][comparator_->LevelOf(code, c)];
  return weight;
}

std::vector<ScoredPair> ProbabilisticPass::Accepted(UnionFind& sets) {
  // Links made since the pairs were compared change related_person only:
  // re-read that comparison, keep the rest of each pattern.
  RefreshRelated(sets);
  std::vector<uint32_t> set_of(table_.size());
  for (uint32_t p = 0; p < table_.size(); ++p) set_of[p] = sets.Find(p);
  const Comparator& comparator = *comparator_;
  std::mutex mu;
  std::vector<ScoredPair> accepted;
  InParallel(candidates_.pairs.size(), [&](size_t begin, size_t end) {
    std::vector<ScoredPair> found;
    for (size_t i = begin; i < end; ++i) {
      const uint32_t a = PairFirst(candidates_.pairs[i]), b = PairSecond(candidates_.pairs[i]);
      if (set_of[a] == set_of[b]) continue;
      for (size_t c : comparator.related_comparisons()) {
        const int64_t before = static_cast<int64_t>(comparator.LevelOf(codes_[i], c));
        const int64_t now = static_cast<int64_t>(comparator.Level(c, a, b));
        codes_[i] = static_cast<uint32_t>(codes_[i] + (now - before) * static_cast<int64_t>(comparator.Stride(c)));
      }
      const double weight = Weight(codes_[i], a);
      if (weight >= threshold_) found.push_back({a, b, weight});
    }
    std::lock_guard<std::mutex> lock(mu);
    accepted.insert(accepted.end(), found.begin(), found.end());
  }, kParallelPairs);
  SortStrongestFirst(accepted);
  return accepted;
}

std::vector<ScoredPair> ProbabilisticPass::Reviewed(const std::vector<uint64_t>& pairs, double match_probability,
                                                    UnionFind& sets) {
  RefreshRelated(sets);
  const double threshold =
      std::log2(match_probability / (1 - match_probability)) - std::log2(prior_ / (1 - prior_));
  std::vector<ScoredPair> accepted;
  for (const uint64_t pair : pairs) {
    const uint32_t a = PairFirst(pair), b = PairSecond(pair);
    if (sets.Find(a) == sets.Find(b)) continue;
    const double weight = Weight(comparator_->Pattern(a, b), a);
    if (weight >= threshold) accepted.push_back({a, b, weight});
  }
  SortStrongestFirst(accepted);
  return accepted;
}

ProbabilisticPass::~ProbabilisticPass() = default;

absl::StatusOr<std::unique_ptr<ProbabilisticPass>> ProbabilisticPass::Hiding(
    const ParticipantTable& table, UnionFind& sets, const std::vector<std::string>& hidden) const {
  auto is_hidden = [&](const std::string& token) {
    return std::find(hidden.begin(), hidden.end(), token) != hidden.end();
  };
  const trelink::v1::LinkageModel& model = options_.model;
  for (const auto& rule : model.blocking_rules()) {
    if (std::any_of(rule.tokens().begin(), rule.tokens().end(), is_hidden)) return nullptr;
  }
  std::unique_ptr<ProbabilisticPass> pass(new ProbabilisticPass(table, options_));
  pass->related_participant_ = related_participant_;
  pass->RefreshRelated(sets);
  TRELINK_ASSIGN_OR_RETURN(Comparator comparator, Comparator::Create(table, model, pass->related_set_));
  pass->comparator_ = std::make_unique<Comparator>(std::move(comparator));
  pass->candidates_ = candidates_;
  pass->codes_ = codes_;
  pass->m_ = m_;
  pass->u_ = u_;
  pass->level_weight_ = level_weight_;
  pass->term_frequency_ = term_frequency_;
  pass->prior_ = prior_;
  pass->threshold_ = threshold_;
  pass->report_ = report_;
  for (int c = 0; c < model.comparisons_size(); ++c) {
    bool reads_hidden = false;
    for (const auto& level : model.comparisons(c).levels()) {
      reads_hidden = reads_hidden || std::any_of(level.tokens().begin(), level.tokens().end(), is_hidden);
    }
    if (!reads_hidden) continue;
    const Comparator& cmp = *pass->comparator_;
    const size_t f = static_cast<size_t>(c);
    const int64_t missing = static_cast<int64_t>(cmp.comparisons()[f].missing());
    const int64_t stride = static_cast<int64_t>(cmp.Stride(f));
    for (uint32_t& code : pass->codes_) {
      code = static_cast<uint32_t>(code + (missing - static_cast<int64_t>(cmp.LevelOf(code, f))) * stride);
    }
  }
  return pass;
}

}  // namespace trelink
