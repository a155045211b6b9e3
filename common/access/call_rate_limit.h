// Per-caller rate limits: a token bucket for every authenticated identity,
// so that no one certificate can monopolise a service, or fill its
// disclosure log, however fast it calls. A bucket starts full: a caller may
// make `burst` calls at once, then `per_second` on average. Time comes from
// an injected Clock, so tests step it instead of sleeping. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

class CallRateLimit {
 public:
  // Fills unset fields of `config` from `defaults` and validates the result;
  // errors name the field as `field`.burst or `field`.per_second. `action`
  // names the limited call in refusals.
  static absl::StatusOr<std::unique_ptr<CallRateLimit>> Create(const trelink::v1::RateLimit& config,
                                                               const trelink::v1::RateLimit& defaults,
                                                               absl::string_view field, absl::string_view action,
                                                               const Clock& clock);

  // Takes a token from `identity`'s bucket: OK, or RESOURCE_EXHAUSTED
  // naming the action and the limit, never the caller. An empty identity
  // (no certificate) has a bucket of its own.
  absl::Status Admit(absl::string_view identity);

  // Calls refused so far, over all callers.
  uint64_t refused() const;
  // The limit in force, defaults filled in.
  const trelink::v1::RateLimit& config() const { return config_; }

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled;
  };
  CallRateLimit(trelink::v1::RateLimit config, std::string action, const Clock& clock)
      : config_(std::move(config)), action_(std::move(action)), clock_(clock) {}
  void Refill(Bucket& bucket, absl::Time now) const;
  void ForgetFullBuckets(absl::Time now);

  const trelink::v1::RateLimit config_;
  const std::string action_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  uint64_t refused_ = 0;
};

}  // namespace trelink
