// Per-caller token buckets, on an injected clock: refusals once a caller's
// burst is spent, refill at the configured rate, callers independent, and a
// config that cannot work refused with the field named.
#include "common/access/call_rate_limit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

trelink::v1::RateLimit Limit(uint32_t burst, double per_second) {
  trelink::v1::RateLimit limit;
  limit.set_burst(burst);
  limit.set_per_second(per_second);
  return limit;
}

class CallRateLimitTest : public ::testing::Test {
 protected:
  std::unique_ptr<CallRateLimit> Make(const trelink::v1::RateLimit& config) {
    auto limit = CallRateLimit::Create(config, Limit(60, 10), "count_rate_limit", "Count", clock_);
    EXPECT_THAT(limit, IsOk());
    return limit.ok() ? *std::move(limit) : nullptr;
  }
  // How many of `calls` calls `identity` makes at this instant are admitted.
  static int Admitted(CallRateLimit& limit, const std::string& identity, int calls) {
    int admitted = 0;
    for (int i = 0; i < calls; ++i) admitted += limit.Admit(identity).ok() ? 1 : 0;
    return admitted;
  }

  FixedClock clock_{absl::FromUnixSeconds(1'700'000'000)};
};

TEST_F(CallRateLimitTest, ABurstIsAdmittedThenRefused) {
  std::unique_ptr<CallRateLimit> limit = Make(Limit(3, 1));
  for (int i = 0; i < 3; ++i) EXPECT_THAT(limit->Admit("analyst"), IsOk()) << i;
  EXPECT_THAT(limit->Admit("analyst"),
              StatusIs(absl::StatusCode::kResourceExhausted, "Count: over this caller's rate limit (3 at once, 1 a second)"));
  EXPECT_THAT(limit->Admit("analyst"), StatusIs(absl::StatusCode::kResourceExhausted, ""));
  EXPECT_EQ(limit->refused(), 2u);
}

TEST_F(CallRateLimitTest, TheBucketRefillsAtTheRateUpToTheBurst) {
  std::unique_ptr<CallRateLimit> limit = Make(Limit(5, 2));
  EXPECT_EQ(Admitted(*limit, "analyst", 10), 5);
  clock_.Advance(absl::Milliseconds(499));  // 0.998 of a token
  EXPECT_EQ(Admitted(*limit, "analyst", 1), 0);
  clock_.Advance(absl::Milliseconds(1));  // one token
  EXPECT_EQ(Admitted(*limit, "analyst", 3), 1);
  clock_.Advance(absl::Seconds(2));  // four tokens
  EXPECT_EQ(Admitted(*limit, "analyst", 10), 4);
  clock_.Advance(absl::Hours(1));  // capped at the burst
  EXPECT_EQ(Admitted(*limit, "analyst", 10), 5);
  EXPECT_EQ(limit->refused(), 5u + 1 + 2 + 6 + 5);
}

TEST_F(CallRateLimitTest, CallersHaveBucketsOfTheirOwn) {
  std::unique_ptr<CallRateLimit> limit = Make(Limit(2, 1));
  EXPECT_EQ(Admitted(*limit, "analyst", 5), 2);
  EXPECT_EQ(Admitted(*limit, "analyst.other", 5), 2);
  EXPECT_EQ(Admitted(*limit, "", 5), 2);  // no certificate: one shared bucket, limited too
  EXPECT_EQ(Admitted(*limit, "analyst", 1), 0);
}

TEST_F(CallRateLimitTest, AClockThatStepsBackRefillsNothing) {
  std::unique_ptr<CallRateLimit> limit = Make(Limit(1, 1));
  EXPECT_EQ(Admitted(*limit, "analyst", 1), 1);
  clock_.Advance(-absl::Hours(1));
  EXPECT_EQ(Admitted(*limit, "analyst", 1), 0);
  clock_.Advance(absl::Hours(1) + absl::Seconds(1));
  EXPECT_EQ(Admitted(*limit, "analyst", 2), 1);
}

TEST_F(CallRateLimitTest, QuietCallersAreForgottenWithoutLosingTheLimit) {
  std::unique_ptr<CallRateLimit> limit = Make(Limit(2, 1));
  EXPECT_EQ(Admitted(*limit, "analyst", 2), 2);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(Admitted(*limit, absl::StrCat("caller-", i), 1), 1);
  clock_.Advance(absl::Seconds(1));  // the others full again, the analyst at one token
  EXPECT_EQ(Admitted(*limit, "newcomer", 1), 1);  // forgets the full buckets
  EXPECT_EQ(Admitted(*limit, "analyst", 3), 1);   // a bucket that was not full is kept
  EXPECT_EQ(Admitted(*limit, "caller-0", 3), 2);  // a forgotten one starts full
}

TEST_F(CallRateLimitTest, UnsetFieldsTakeTheDefaults) {
  std::unique_ptr<CallRateLimit> limit = Make(trelink::v1::RateLimit());
  EXPECT_EQ(limit->config().burst(), 60u);
  EXPECT_EQ(limit->config().per_second(), 10);
  EXPECT_EQ(Admitted(*limit, "analyst", 100), 60);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Admitted(*limit, "analyst", 100), 10);
}

TEST_F(CallRateLimitTest, ADisabledLimitAdmitsEverything) {
  trelink::v1::RateLimit config;
  config.set_disabled(true);
  std::unique_ptr<CallRateLimit> limit = Make(config);
  EXPECT_EQ(Admitted(*limit, "analyst", 1000), 1000);
  EXPECT_EQ(limit->refused(), 0u);
}

TEST_F(CallRateLimitTest, ALimitThatCannotWorkIsRefusedNamingTheField) {
  const trelink::v1::RateLimit defaults = Limit(60, 10);
  EXPECT_THAT(CallRateLimit::Create(Limit(2'000'000, 1), defaults, "count_rate_limit", "Count", clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, "count_rate_limit.burst: must be 1 to 1000000"));
  for (double rate : {-1.0, std::nan(""), std::numeric_limits<double>::infinity(), 2e6}) {
    EXPECT_THAT(CallRateLimit::Create(Limit(5, rate), defaults, "count_rate_limit", "Count", clock_),
                StatusIs(absl::StatusCode::kInvalidArgument, "count_rate_limit.per_second: must be above 0"))
        << rate;
  }
  EXPECT_THAT(CallRateLimit::Create(trelink::v1::RateLimit(), trelink::v1::RateLimit(), "limit", "Count", clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, "limit.burst"));
}

}  // namespace
}  // namespace trelink
