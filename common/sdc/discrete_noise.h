// Discrete noise for differentially private counts, sampled exactly with
// integer arithmetic. Floating-point samplers leak through the gaps and
// rounding of their outputs (Mironov 2012), so nothing here that draws noise
// touches a double; the samplers follow Canonne, Kamath & Steinke (2020), "The
// Discrete Gaussian for Differential Privacy", Algorithms 1 and 2.
//
// Preconditions on the samplers are checked and abort the process when broken:
// their arguments come from validated configuration (ValidateLaplaceScale,
// LaplaceScaleForEpsilon), never from a request.
//
// The samplers are exact but not constant-time: how long a draw takes depends
// on the value drawn. Callers that answer over a network should not expose
// per-draw timing.
#pragma once

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trelink {

// The randomness noise is drawn from; injectable so that tests are exact.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform on [0, n) exactly (rejection, no modulo bias). Requires n >= 1.
  virtual uint64_t UniformBelow(uint64_t n) = 0;
};

// Production randomness: libsodium's randombytes_buf. Thread-safe.
class SodiumRandom final : public RandomSource {
 public:
  // Fails only when libsodium cannot initialise.
  static absl::StatusOr<SodiumRandom> Create();
  uint64_t UniformBelow(uint64_t n) override;

 private:
  SodiumRandom() = default;
};

// A reproducible stream keyed by a 32-byte seed, for tests and benchmarks
// ONLY: anyone who knows the seed knows the noise, so it must never be used
// for a release. Not thread-safe.
class SeededRandom final : public RandomSource {
 public:
  using Seed = std::array<uint8_t, 32>;
  explicit SeededRandom(const Seed& seed);
  uint64_t UniformBelow(uint64_t n) override;

 private:
  uint64_t NextWord();
  void Refill();

  Seed seed_;
  uint64_t block_ = 0;  // which block of the stream is in `buffer_`
  std::array<uint8_t, 512> buffer_{};
  size_t used_ = buffer_.size();
};

// True with probability numerator/denominator. Requires 1 <= denominator and
// numerator <= denominator.
bool BernoulliRational(RandomSource& random, uint64_t numerator, uint64_t denominator);

// True with probability exp(-numerator/denominator). Requires denominator >= 1.
bool BernoulliExpMinus(RandomSource& random, uint64_t numerator, uint64_t denominator);

// The scale t = numerator/denominator of a discrete Laplace distribution.
struct LaplaceScale {
  uint64_t numerator = 1;
  uint64_t denominator = 1;
  double value() const { return static_cast<double>(numerator) / static_cast<double>(denominator); }
};

// Both parts of a scale must lie in [1, 2^32]: that keeps every intermediate of
// the sampler within 64 bits.
inline constexpr uint64_t kMaxLaplaceScalePart = uint64_t{1} << 32;
absl::Status ValidateLaplaceScale(uint64_t numerator, uint64_t denominator);

// Z on the integers with P[Z = z] proportional to exp(-|z| * denominator /
// numerator). Requires ValidateLaplaceScale(numerator, denominator) to pass.
int64_t DiscreteLaplace(RandomSource& random, uint64_t scale_numerator, uint64_t scale_denominator);

// The scale that makes a count with L1 sensitivity `sensitivity` (the most
// one person can change it) epsilon-DP, epsilon = epsilon_micro / 10^6:
// sensitivity / epsilon, as a reduced fraction.
absl::StatusOr<LaplaceScale> LaplaceScaleForEpsilon(uint64_t epsilon_micro, uint32_t sensitivity);

// Discrete Laplace noise for such a count: LaplaceScaleForEpsilon then
// DiscreteLaplace.
absl::StatusOr<int64_t> LaplaceNoiseForEpsilon(RandomSource& random, uint64_t epsilon_micro, uint32_t sensitivity);

// For reports and benchmarks, not for sampling. The variance of the discrete
// Laplace of scale t: 2 e^{-1/t} / (1 - e^{-1/t})^2.
double DiscreteLaplaceVariance(double scale);

// The least m with P[|Z| > m] <= beta for the discrete Laplace of scale t: the
// noise is within +-m of zero with probability at least 1 - beta.
// Requires 0 < beta < 1 and scale > 0.
uint64_t DiscreteLaplaceErrorBound(double scale, double beta);

}  // namespace trelink
