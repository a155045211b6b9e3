#include "common/sdc/discrete_noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

// Every statistical check below runs on a fixed seed, so it is deterministic:
// a bound either holds for that stream or it does not, and cannot flake. The
// bounds are the textbook ones (chi-square at p = 0.001, 5 standard errors),
// loose enough for a correct sampler and far too tight for a broken one.

SeededRandom::Seed MakeSeed(uint8_t tag) {
  SeededRandom::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(tag + 31 * i);
  return seed;
}

// Pearson's statistic for counts against equal expected frequencies.
double ChiSquareUniform(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
  double statistic = 0;
  for (uint64_t c : counts) statistic += (c - expected) * (c - expected) / expected;
  return statistic;
}

// Five standard errors of a proportion p estimated from n draws.
double FiveSigma(double p, int n) { return 5 * std::sqrt(p * (1 - p) / n); }

TEST(SeededRandomTest, SameSeedSameStreamOtherSeedOtherStream) {
  SeededRandom a(MakeSeed(1)), b(MakeSeed(1)), c(MakeSeed(2));
  int differing = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.UniformBelow(std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(x, b.UniformBelow(std::numeric_limits<uint64_t>::max()));
    differing += x != c.UniformBelow(std::numeric_limits<uint64_t>::max());
  }
  EXPECT_EQ(differing, 100);
}

// Catches a stream that restarts on every call or every block: 2,000 words
// span 31 refills, and full-range words from a real stream do not repeat.
TEST(SeededRandomTest, SuccessiveDrawsDiffer) {
  SeededRandom random(MakeSeed(3));
  std::set<uint64_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(random.UniformBelow(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(seen.size(), 2000u);
}

// An off-by-one ([1, n] or [0, n]) shows as a value out of range or one never drawn.
TEST(UniformBelowTest, CoversExactlyTheRange) {
  SeededRandom random(MakeSeed(4));
  for (uint64_t n : {1, 2, 10}) {
    std::vector<uint64_t> counts(n);
    for (int i = 0; i < 1000; ++i) {
      const uint64_t x = random.UniformBelow(n);
      ASSERT_LT(x, n);
      ++counts[x];
    }
    for (uint64_t value = 0; value < n; ++value) EXPECT_GT(counts[value], 0u) << "n=" << n << " value=" << value;
  }
}

TEST(UniformBelowTest, SmallRangeIsUniform) {
  SeededRandom random(MakeSeed(5));
  std::vector<uint64_t> counts(10);
  for (int i = 0; i < 20000; ++i) ++counts[random.UniformBelow(10)];
  EXPECT_LT(ChiSquareUniform(counts), 27.88);  // 9 degrees of freedom, p = 0.001
}

// With n = 3 * 2^62, a plain `word % n` puts half of its mass on the first
// third of the range (chi-square about 750 here); rejection keeps it at 1/3.
TEST(UniformBelowTest, NoModuloBiasNearTwoToThe63) {
  SeededRandom random(MakeSeed(6));
  const uint64_t third = uint64_t{1} << 62;
  std::vector<uint64_t> counts(3);
  for (int i = 0; i < 6000; ++i) ++counts[random.UniformBelow(3 * third) / third];
  EXPECT_LT(ChiSquareUniform(counts), 13.82);  // 2 degrees of freedom, p = 0.001
}

TEST(BernoulliRationalTest, FrequencyMatchesFraction) {
  SeededRandom random(MakeSeed(7));
  constexpr int kDraws = 60000;
  int hits = 0;
  for (int i = 0; i < kDraws; ++i) hits += BernoulliRational(random, 1, 3);
  EXPECT_NEAR(hits / double{kDraws}, 1.0 / 3, FiveSigma(1.0 / 3, kDraws));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(BernoulliRational(random, 0, 5));
    EXPECT_TRUE(BernoulliRational(random, 5, 5));
  }
}

struct Gamma {
  uint64_t numerator;
  uint64_t denominator;
};

class BernoulliExpMinusTest : public ::testing::TestWithParam<Gamma> {};

// gamma = 0 must always succeed; 1/3 and 1 use Algorithm 1 directly; 5/2 and
// 7 need the whole-unit steps (5/2 tells exp(-2.5) from exp(-2)); 2^62/2^63
// exercises the split when denominator * K overflows 64 bits.
TEST_P(BernoulliExpMinusTest, FrequencyMatchesExp) {
  const Gamma gamma = GetParam();
  SeededRandom random(MakeSeed(8));
  constexpr int kDraws = 200000;
  int hits = 0;
  for (int i = 0; i < kDraws; ++i) hits += BernoulliExpMinus(random, gamma.numerator, gamma.denominator);
  const double p = std::exp(-static_cast<double>(gamma.numerator) / static_cast<double>(gamma.denominator));
  if (gamma.numerator == 0) {
    EXPECT_EQ(hits, kDraws);
  } else {
    EXPECT_NEAR(hits / double{kDraws}, p, FiveSigma(p, kDraws));
  }
}

INSTANTIATE_TEST_SUITE_P(Gammas, BernoulliExpMinusTest,
                         ::testing::Values(Gamma{0, 1}, Gamma{1, 3}, Gamma{1, 1}, Gamma{5, 2}, Gamma{7, 1},
                                           Gamma{uint64_t{1} << 62, uint64_t{1} << 63}),
                         [](const ::testing::TestParamInfo<Gamma>& info) {
                           return "gamma_" + std::to_string(info.param.numerator) + "_over_" +
                                  std::to_string(info.param.denominator);
                         });

class DiscreteLaplaceTest : public ::testing::TestWithParam<LaplaceScale> {
 protected:
  static constexpr int kDraws = 150000;
  std::vector<int64_t> Draw(uint8_t seed_tag) {
    SeededRandom random(MakeSeed(seed_tag));
    std::vector<int64_t> draws(kDraws);
    for (int64_t& z : draws) z = DiscreteLaplace(random, GetParam().numerator, GetParam().denominator);
    return draws;
  }
};

// Symmetry, mean, variance against the closed form, and the mass at zero
// (1-q)/(1+q), q = e^{-1/t}: the last catches a sampler that counts zero
// twice (forgetting to redraw the negative zero).
TEST_P(DiscreteLaplaceTest, MatchesTheDistribution) {
  const double scale = GetParam().value();
  const std::vector<int64_t> draws = Draw(9);
  double sum = 0, sum_squares = 0;
  int positive = 0, negative = 0, zero = 0;
  for (int64_t z : draws) {
    sum += static_cast<double>(z);
    sum_squares += static_cast<double>(z) * static_cast<double>(z);
    positive += z > 0;
    negative += z < 0;
    zero += z == 0;
  }
  const double variance = DiscreteLaplaceVariance(scale);
  const double mean = sum / kDraws;
  EXPECT_LT(std::abs(positive - negative), 5 * std::sqrt(positive + negative));
  EXPECT_LT(std::abs(mean), 5 * std::sqrt(variance / kDraws));
  EXPECT_NEAR(sum_squares / kDraws - mean * mean, variance, 0.03 * variance);
  const double q = std::exp(-1 / scale);
  const double p_zero = (1 - q) / (1 + q);
  EXPECT_NEAR(zero / double{kDraws}, p_zero, FiveSigma(p_zero, kDraws));
}

// The reported (1 - beta) bound holds for the samples, and is tight: one less
// is exceeded more often than beta.
TEST_P(DiscreteLaplaceTest, ErrorBoundHoldsAndIsTight) {
  const double beta = 0.05;
  const uint64_t bound = DiscreteLaplaceErrorBound(GetParam().value(), beta);
  const std::vector<int64_t> draws = Draw(10);
  int beyond = 0, beyond_one_less = 0;
  for (int64_t z : draws) {
    beyond += static_cast<uint64_t>(std::abs(z)) > bound;
    beyond_one_less += bound > 0 && static_cast<uint64_t>(std::abs(z)) > bound - 1;
  }
  EXPECT_LE(beyond / double{kDraws}, beta + FiveSigma(beta, kDraws));
  if (bound > 0) {
    EXPECT_GT(beyond_one_less / double{kDraws}, beta);
  }
}

INSTANTIATE_TEST_SUITE_P(Scales, DiscreteLaplaceTest,
                         ::testing::Values(LaplaceScale{1, 1}, LaplaceScale{5, 2}, LaplaceScale{10, 1},
                                           LaplaceScale{1, 3}),
                         [](const ::testing::TestParamInfo<LaplaceScale>& info) {
                           return "scale_" + std::to_string(info.param.numerator) + "_over_" +
                                  std::to_string(info.param.denominator);
                         });

TEST(DiscreteLaplaceReportTest, VarianceAndErrorBoundClosedForms) {
  EXPECT_NEAR(DiscreteLaplaceVariance(1), 2 * std::exp(-1) / std::pow(1 - std::exp(-1), 2), 1e-12);
  // For large t the variance approaches that of the continuous Laplace, 2t^2, less 1/6.
  EXPECT_NEAR(DiscreteLaplaceVariance(1000), 2e6 - 1.0 / 6, 1e-3);
  // P[|Z| > m] = 2 e^{-(m+1)/t} / (1 + e^{-1/t}): 0.027 at m = 3, 0.073 at m = 2.
  EXPECT_EQ(DiscreteLaplaceErrorBound(1, 0.05), 3u);
  EXPECT_EQ(DiscreteLaplaceErrorBound(10, 0.05), 30u);
  EXPECT_EQ(DiscreteLaplaceErrorBound(0.01, 0.05), 0u);
}

TEST(LaplaceScaleForEpsilonTest, ReducesSensitivityOverEpsilon) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LaplaceScale unit, LaplaceScaleForEpsilon(1'000'000, 1));
  EXPECT_EQ(unit.numerator, 1u);
  EXPECT_EQ(unit.denominator, 1u);
  TRELINK_ASSERT_OK_AND_ASSIGN(LaplaceScale two_and_a_half, LaplaceScaleForEpsilon(400'000, 1));
  EXPECT_EQ(two_and_a_half.numerator, 5u);
  EXPECT_EQ(two_and_a_half.denominator, 2u);
  TRELINK_ASSERT_OK_AND_ASSIGN(LaplaceScale odd, LaplaceScaleForEpsilon(123'457, 4000));
  EXPECT_EQ(odd.numerator, 4'000'000'000u);
  EXPECT_EQ(odd.denominator, 123'457u);
}

TEST(LaplaceScaleForEpsilonTest, RejectsZeroAndOutOfRange) {
  EXPECT_THAT(LaplaceScaleForEpsilon(0, 1), StatusIs(absl::StatusCode::kInvalidArgument, "epsilon_micro"));
  EXPECT_THAT(LaplaceScaleForEpsilon(1'000'000, 0), StatusIs(absl::StatusCode::kInvalidArgument, "sensitivity"));
  // 5000 / 10^-6 = 5 * 10^9 > 2^32.
  EXPECT_THAT(LaplaceScaleForEpsilon(1, 5000), StatusIs(absl::StatusCode::kInvalidArgument, "2^32"));
  EXPECT_THAT(LaplaceScaleForEpsilon(uint64_t{1} << 40, 1), StatusIs(absl::StatusCode::kInvalidArgument, "2^32"));
}

// The helper samples the reduced scale: same seed, same stream as 5/2.
TEST(LaplaceNoiseForEpsilonTest, DrawsDiscreteLaplaceOfSensitivityOverEpsilon) {
  SeededRandom via_epsilon(MakeSeed(11)), direct(MakeSeed(11));
  for (int i = 0; i < 200; ++i) {
    TRELINK_ASSERT_OK_AND_ASSIGN(int64_t noise, LaplaceNoiseForEpsilon(via_epsilon, 400'000, 1));
    EXPECT_EQ(noise, DiscreteLaplace(direct, 5, 2));
  }
  EXPECT_THAT(LaplaceNoiseForEpsilon(via_epsilon, 0, 1), StatusIs(absl::StatusCode::kInvalidArgument, "epsilon"));
}

TEST(ValidateLaplaceScaleTest, AcceptsOnlyOneToTwoToThe32) {
  EXPECT_THAT(ValidateLaplaceScale(1, 1), IsOk());
  EXPECT_THAT(ValidateLaplaceScale(kMaxLaplaceScalePart, kMaxLaplaceScalePart), IsOk());
  EXPECT_THAT(ValidateLaplaceScale(1, 0), StatusIs(absl::StatusCode::kInvalidArgument, "[1, 2^32]"));
  EXPECT_THAT(ValidateLaplaceScale(0, 1), StatusIs(absl::StatusCode::kInvalidArgument, "[1, 2^32]"));
  EXPECT_THAT(ValidateLaplaceScale(kMaxLaplaceScalePart + 1, 1), StatusIs(absl::StatusCode::kInvalidArgument, "[1, 2^32]"));
}

// The samplers' preconditions are programming errors: they abort rather than
// draw from a wrong distribution.
TEST(DiscreteNoiseDeathTest, BrokenPreconditionsAbort) {
  SeededRandom random(MakeSeed(12));
  EXPECT_DEATH(random.UniformBelow(0), "n >= 1");
  EXPECT_DEATH(BernoulliRational(random, 1, 0), "denominator >= 1");
  EXPECT_DEATH(BernoulliRational(random, 2, 1), "probability <= 1");
  EXPECT_DEATH(BernoulliExpMinus(random, 1, 0), "denominator >= 1");
  EXPECT_DEATH(DiscreteLaplace(random, 1, 0), "scale parts");
  EXPECT_DEATH(DiscreteLaplace(random, kMaxLaplaceScalePart + 1, 1), "scale parts");
}

TEST(SodiumRandomTest, DrawsInRange) {
  TRELINK_ASSERT_OK_AND_ASSIGN(SodiumRandom random, SodiumRandom::Create());
  std::vector<int> counts(7);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = random.UniformBelow(7);
    ASSERT_LT(x, 7u);
    ++counts[x];
  }
  // Missing a value in 1,000 draws has probability about 7 (6/7)^1000 < 10^-65.
  for (int c : counts) EXPECT_GT(c, 0);
  EXPECT_EQ(random.UniformBelow(1), 0u);
  EXPECT_LT(random.UniformBelow(uint64_t{3} << 62), uint64_t{3} << 62);
  const int64_t noise = DiscreteLaplace(random, 1, 1);
  EXPECT_LT(std::abs(noise), 1000);  // P[|Z| >= 1000] = 2e^-1000 / (1+e^-1)
}

}  // namespace
}  // namespace trelink
