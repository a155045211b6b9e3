#include "common/sdc/discrete_noise.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

static_assert(std::tuple_size_v<SeededRandom::Seed> == randombytes_SEEDBYTES);
static_assert(std::tuple_size_v<SeededRandom::Seed> == crypto_generichash_BYTES);

// A broken precondition is a programming error upstream of validation; going
// on would release noise from the wrong distribution.
void RequirePrecondition(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "discrete_noise: precondition failed: %s\n", what);
  std::abort();
}

// sodium_init is idempotent but not free; run it once, thread-safely.
bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// Uniform on [0, n) from uniform 64-bit words: accept only words at or above
// 2^64 mod n, so the accepted range is a whole number of copies of [0, n) and
// the remainder is exact. At most half of the words are rejected.
template <typename NextWord>
uint64_t RejectionSampleBelow(uint64_t n, NextWord next_word) {
  RequirePrecondition(n >= 1, "UniformBelow needs n >= 1");
  const uint64_t rejected_below = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t word = next_word();
    if (word >= rejected_below) return word % n;
  }
}

// Bernoulli(numerator / (denominator * k)). The product of the two
// denominators may not fit in 64 bits; then it is the conjunction of two
// independent draws, which has the same probability.
bool BernoulliRationalOverK(RandomSource& random, uint64_t numerator, uint64_t denominator, uint64_t k) {
  if (denominator <= std::numeric_limits<uint64_t>::max() / k) {
    return BernoulliRational(random, numerator, denominator * k);
  }
  return BernoulliRational(random, 1, k) && BernoulliRational(random, numerator, denominator);
}

// Bernoulli(exp(-gamma)) for gamma = numerator/denominator in [0, 1] (CKS 2020,
// Algorithm 1): the parity of the first K with A_K = 0, where A_k ~
// Bernoulli(gamma/k), is odd with probability exp(-gamma).
bool BernoulliExpMinusAtMostOne(RandomSource& random, uint64_t numerator, uint64_t denominator) {
  uint64_t k = 1;
  while (BernoulliRationalOverK(random, numerator, denominator, k)) ++k;
  return k % 2 == 1;
}

// The number of successes before the first failure of Bernoulli(exp(-1))
// draws: geometric, P[V = v] = (1 - 1/e) e^{-v}.
// A run of 2^30 has probability e^{-2^30}; refusing it (nullopt: the caller
// redraws) keeps U + t*V below 2^63 at no measurable cost to exactness.
constexpr uint64_t kGeometricCap = uint64_t{1} << 30;
std::optional<uint64_t> GeometricExpMinusOne(RandomSource& random) {
  uint64_t run = 0;
  while (BernoulliExpMinusAtMostOne(random, 1, 1)) {
    if (++run == kGeometricCap) return std::nullopt;
  }
  return run;
}

}  // namespace

absl::StatusOr<SodiumRandom> SodiumRandom::Create() {
  if (!SodiumReady()) return absl::InternalError("libsodium failed to initialise");
  return SodiumRandom();
}

uint64_t SodiumRandom::UniformBelow(uint64_t n) {
  return RejectionSampleBelow(n, [] {
    uint64_t word;
    randombytes_buf(&word, sizeof word);
    return word;
  });
}

SeededRandom::SeededRandom(const Seed& seed) : seed_(seed) {
  RequirePrecondition(SodiumReady(), "libsodium initialises");
}

uint64_t SeededRandom::UniformBelow(uint64_t n) {
  return RejectionSampleBelow(n, [this] { return NextWord(); });
}

// Little-endian, so a seed gives the same stream on every machine.
uint64_t SeededRandom::NextWord() {
  if (used_ == buffer_.size()) Refill();
  uint64_t word = 0;
  for (int i = 7; i >= 0; --i) word = (word << 8) | buffer_[used_ + i];
  used_ += 8;
  return word;
}

// randombytes_buf_deterministic restarts its stream on every call, so each
// block gets its own key: a keyed hash of the block number under the seed.
void SeededRandom::Refill() {
  std::array<uint8_t, 8> block_number;
  for (size_t i = 0; i < block_number.size(); ++i) block_number[i] = static_cast<uint8_t>(block_ >> (8 * i));
  std::array<uint8_t, randombytes_SEEDBYTES> block_seed;
  crypto_generichash(block_seed.data(), block_seed.size(), block_number.data(), block_number.size(), seed_.data(),
                     seed_.size());
  randombytes_buf_deterministic(buffer_.data(), buffer_.size(), block_seed.data());
  ++block_;
  used_ = 0;
}

bool BernoulliRational(RandomSource& random, uint64_t numerator, uint64_t denominator) {
  RequirePrecondition(denominator >= 1, "Bernoulli denominator >= 1");
  RequirePrecondition(numerator <= denominator, "Bernoulli probability <= 1");
  return random.UniformBelow(denominator) < numerator;
}

// exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma))): one draw
// per whole unit, stopping at the first failure (CKS 2020, Algorithm 1).
bool BernoulliExpMinus(RandomSource& random, uint64_t numerator, uint64_t denominator) {
  RequirePrecondition(denominator >= 1, "BernoulliExpMinus denominator >= 1");
  for (uint64_t unit = numerator / denominator; unit > 0; --unit) {
    if (!BernoulliExpMinusAtMostOne(random, 1, 1)) return false;
  }
  return BernoulliExpMinusAtMostOne(random, numerator % denominator, denominator);
}

absl::Status ValidateLaplaceScale(uint64_t numerator, uint64_t denominator) {
  if (numerator < 1 || numerator > kMaxLaplaceScalePart || denominator < 1 || denominator > kMaxLaplaceScalePart) {
    return absl::InvalidArgumentError(absl::StrCat("discrete Laplace scale ", numerator, "/", denominator,
                                                   ": numerator and denominator must lie in [1, 2^32]"));
  }
  return absl::OkStatus();
}

// CKS 2020, Algorithm 2, with t = numerator and s = denominator. X = U + t*V
// is a discrete Laplace-shaped magnitude of scale t (U uniform below t kept
// with probability exp(-U/t), V geometric); floor(X/s) rescales it to t/s; a
// sign is drawn, and a negative zero is redrawn so that zero is not counted
// twice.
int64_t DiscreteLaplace(RandomSource& random, uint64_t scale_numerator, uint64_t scale_denominator) {
  RequirePrecondition(ValidateLaplaceScale(scale_numerator, scale_denominator).ok(),
                      "discrete Laplace scale parts in [1, 2^32]");
  for (;;) {
    const uint64_t u = random.UniformBelow(scale_numerator);
    if (!BernoulliExpMinus(random, u, scale_numerator)) continue;
    const std::optional<uint64_t> v = GeometricExpMinusOne(random);
    if (!v.has_value()) continue;
    const uint64_t magnitude = (u + scale_numerator * *v) / scale_denominator;  // < 2^63
    const bool negative = BernoulliRational(random, 1, 2);
    if (negative && magnitude == 0) continue;
    const auto z = static_cast<int64_t>(magnitude);
    return negative ? -z : z;
  }
}

absl::StatusOr<LaplaceScale> LaplaceScaleForEpsilon(uint64_t epsilon_micro, uint32_t sensitivity) {
  if (epsilon_micro == 0) return absl::InvalidArgumentError("epsilon_micro must be at least 1");
  if (sensitivity == 0) return absl::InvalidArgumentError("sensitivity must be at least 1");
  // sensitivity / (epsilon_micro / 10^6), reduced: an equal fraction gives the
  // same distribution and fits the sampler's range more often.
  uint64_t numerator = uint64_t{sensitivity} * 1'000'000;
  uint64_t denominator = epsilon_micro;
  const uint64_t common = std::gcd(numerator, denominator);
  LaplaceScale scale{numerator / common, denominator / common};
  if (absl::Status valid = ValidateLaplaceScale(scale.numerator, scale.denominator); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("epsilon_micro ", epsilon_micro, " with sensitivity ",
                                                   sensitivity, " is out of range: ", valid.message()));
  }
  return scale;
}

absl::StatusOr<int64_t> LaplaceNoiseForEpsilon(RandomSource& random, uint64_t epsilon_micro, uint32_t sensitivity) {
  absl::StatusOr<LaplaceScale> scale = LaplaceScaleForEpsilon(epsilon_micro, sensitivity);
  if (!scale.ok()) return scale.status();
  return DiscreteLaplace(random, scale->numerator, scale->denominator);
}

// With q = e^{-1/t}: Var = 2q / (1-q)^2. expm1 keeps 1-q accurate for large t.
double DiscreteLaplaceVariance(double scale) {
  const double q = std::exp(-1.0 / scale);
  const double one_minus_q = -std::expm1(-1.0 / scale);
  return 2.0 * q / (one_minus_q * one_minus_q);
}

// P[|Z| > m] = 2 q^{m+1} / (1+q). Solving for m gives the estimate; the loops
// correct any floating-point rounding so the bound is the least that holds.
uint64_t DiscreteLaplaceErrorBound(double scale, double beta) {
  RequirePrecondition(scale > 0 && beta > 0 && beta < 1, "error bound needs scale > 0 and 0 < beta < 1");
  const double q = std::exp(-1.0 / scale);
  auto tail_above = [&](uint64_t m) { return 2.0 * std::exp(-static_cast<double>(m + 1) / scale) / (1.0 + q); };
  const double estimate = std::ceil(scale * std::log(2.0 / (beta * (1.0 + q)))) - 1.0;
  uint64_t m = estimate > 0 ? static_cast<uint64_t>(std::min(estimate, 0x1p62)) : 0;
  while (tail_above(m) > beta) ++m;
  while (m > 0 && tail_above(m - 1) <= beta) --m;
  return m;
}

}  // namespace trelink
