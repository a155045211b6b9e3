#include "common/access/call_rate_limit.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

// Beyond these a limit is a typo rather than a policy.
constexpr uint32_t kMaxBurst = 1'000'000;
constexpr double kMaxPerSecond = 1'000'000;
// Past this many callers, buckets that have refilled completely (callers
// that have been quiet) are forgotten: a full bucket is what a new one is.
constexpr size_t kBucketsBeforePruning = 4096;

}  // namespace

absl::StatusOr<std::unique_ptr<CallRateLimit>> CallRateLimit::Create(const trelink::v1::RateLimit& config,
                                                                     const trelink::v1::RateLimit& defaults,
                                                                     absl::string_view field,
                                                                     absl::string_view action, const Clock& clock) {
  trelink::v1::RateLimit limit = config;
  if (limit.burst() == 0) limit.set_burst(defaults.burst());
  if (limit.per_second() == 0) limit.set_per_second(defaults.per_second());
  if (!limit.disabled()) {
    if (limit.burst() == 0 || limit.burst() > kMaxBurst) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".burst: must be 1 to ", kMaxBurst));
    }
    if (!std::isfinite(limit.per_second()) || limit.per_second() <= 0 || limit.per_second() > kMaxPerSecond) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".per_second: must be above 0 and at most ", kMaxPerSecond));
    }
  }
  return std::unique_ptr<CallRateLimit>(new CallRateLimit(std::move(limit), std::string(action), clock));
}

void CallRateLimit::Refill(Bucket& bucket, absl::Time now) const {
  if (now <= bucket.refilled) return;  // a clock that steps back refills nothing
  const double earned = absl::ToDoubleSeconds(now - bucket.refilled) * config_.per_second();
  bucket.tokens = std::min(static_cast<double>(config_.burst()), bucket.tokens + earned);
  bucket.refilled = now;
}

void CallRateLimit::ForgetFullBuckets(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now);
    it = it->second.tokens >= config_.burst() ? buckets_.erase(it) : std::next(it);
  }
}

absl::Status CallRateLimit::Admit(absl::string_view identity) {
  if (config_.disabled()) return absl::OkStatus();
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() >= kBucketsBeforePruning) ForgetFullBuckets(now);
  auto [it, added] = buckets_.try_emplace(std::string(identity), Bucket{static_cast<double>(config_.burst()), now});
  Bucket& bucket = it->second;
  if (!added) Refill(bucket, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::OkStatus();
  }
  ++refused_;
  return absl::ResourceExhaustedError(absl::StrCat(action_, ": over this caller's rate limit (", config_.burst(),
                                                   " at once, ", config_.per_second(), " a second); try again later"));
}

uint64_t CallRateLimit::refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refused_;
}

}  // namespace trelink
