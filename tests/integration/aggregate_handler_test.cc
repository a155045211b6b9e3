// The aggregator's Count handler without a server, over a real store and
// disclosure log: a call the client gave up on is neither logged nor
// remembered, an over-limit query is refused before it is logged, and a
// caller with no role is counted but leaves the log untouched, and a table
// the release history cannot keep is not released.
#include "services/aggregator/aggregate_handler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "common/aggregate/query_limits.h"
#include "common/config/text_config.h"
#include "common/sdc/stored_release_history.h"
#include "tests/support/faulty_sqlite_vfs.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "tests/support/truth_linked_store.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

class AggregateHandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    ASSERT_THAT(catalogue, IsOk());
    catalogue_ = new Catalogue(*std::move(catalogue));
    PopulationOptions options;
    options.mothers = 1500;
    options.seed = 11;
    store_ = ::trelink::testing::StoreLinkedByTruth(GeneratePopulation(options), *catalogue_, kClock, "demo").release();
    ASSERT_NE(store_, nullptr);
  }

  void SetUp() override {
    trelink::v1::AccessPolicy access;
    ASSERT_THAT(ParseTextConfig(R"(principals { identity: "analyst" role: ANALYST projects: "demo" }
                                   principals { identity: "auditor" role: AUDITOR projects: "*" })",
                                "access", access),
                IsOk());
    auto policy = AccessPolicy::Create(access);
    ASSERT_THAT(policy, IsOk());
    access_ = std::make_unique<AccessPolicy>(*std::move(policy));
    trelink::v1::DisclosurePolicy disclosure;
    disclosure.set_version("test-policy");
    auto control = DisclosureControl::Create(disclosure, history_, nullptr);
    ASSERT_THAT(control, IsOk());
    control_ = *std::move(control);
    auto signer = NoteSigner::Generate("test-log");
    ASSERT_THAT(signer, IsOk());
    log_path_ = ::trelink::testing::MakeTempDir() + "/disclosure.log";
    auto log = DisclosureLog::Open(log_path_, *std::move(signer));
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
    AggregateContext context{access_.get(), catalogue_, store_, control_.get(), log_.get(), &kClock, {"demo"}};
    context.ledger = &ledger_;
    handler_ = std::make_unique<AggregateHandler>(context);
  }

  static trelink::v1::CountQuery Q2() {
    trelink::v1::CountQuery query;
    EXPECT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) +
                                   "/deploy/queries/q2_newborn_share_of_proceedings.textproto",
                               query),
                IsOk());
    return query;
  }

  uint64_t LogBytes() const { return std::filesystem::file_size(log_path_); }

  static Catalogue* catalogue_;
  static SqliteLinkedStore* store_;
  std::unique_ptr<AccessPolicy> access_;
  InMemoryReleaseHistory history_;
  std::unique_ptr<DisclosureControl> control_;
  std::string log_path_;
  std::unique_ptr<DisclosureLog> log_;
  PrivacyLedger ledger_;
  std::unique_ptr<AggregateHandler> handler_;
};

Catalogue* AggregateHandlerTest::catalogue_ = nullptr;
SqliteLinkedStore* AggregateHandlerTest::store_ = nullptr;

TEST_F(AggregateHandlerTest, AnsweredCallIsLoggedAndRemembered) {
  auto table = handler_->Count("analyst", Q2(), [] { return absl::OkStatus(); });
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(log_->size(), 1u);
  EXPECT_GT(history_.tables(), 0u);
}

// Asking the same question again on the same generation tells nothing new:
// it gets the same table, not one with more withheld.
TEST_F(AggregateHandlerTest, TheSameQueryAskedAgainGetsTheSameTable) {
  int released = 0;
  for (const char* file : {"q3_newborn_proceedings_by_region", "q5_perinatal_mental_health_by_region",
                           "q2_newborn_share_of_proceedings"}) {
    trelink::v1::CountQuery query;
    ASSERT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/" + file + ".textproto", query),
                IsOk());
    auto first = handler_->Count("analyst", query, [] { return absl::OkStatus(); });
    auto again = handler_->Count("analyst", query, [] { return absl::OkStatus(); });
    ASSERT_THAT(first, IsOk());
    ASSERT_THAT(again, IsOk());
    ASSERT_EQ(first->cells_size(), again->cells_size()) << file;
    for (int c = 0; c < first->cells_size(); ++c) {
      EXPECT_EQ(first->cells(c).status(), again->cells(c).status()) << file << " cell " << c;
      EXPECT_EQ(first->cells(c).count(), again->cells(c).count()) << file << " cell " << c;
      released += first->cells(c).status() != trelink::v1::SUPPRESSED ? 1 : 0;
    }
    EXPECT_NE(first->log_index(), again->log_index()) << "each answer is logged";
  }
  EXPECT_GT(released, 10);
  // The repeats say what they repeat; the log holds six entries.
  EXPECT_EQ(log_->size(), 6u);
}

// An auditor must see which national data opt-out list each release used.
TEST_F(AggregateHandlerTest, AnswersAndLogEntriesNameTheOptOutListTheirGenerationApplied) {
  PopulationOptions options;
  options.mothers = 300;
  options.seed = 12;
  std::vector<PersonAssignment> assignments;
  auto store = ::trelink::testing::StoreLinkedByTruth(GeneratePopulation(options), *catalogue_, kClock, "demo",
                                                      &assignments);
  ASSERT_NE(store, nullptr);
  trelink::v1::LinkageReport report;
  report.mutable_opt_out()->set_list_version("2026-11");
  ASSERT_THAT(store->SaveCompleteGeneration("demo", report, assignments, {}), IsOk());
  AggregateHandler handler(
      AggregateContext{access_.get(), catalogue_, store.get(), control_.get(), log_.get(), &kClock, {"demo"}});
  auto table = handler.Count("analyst", Q2(), [] { return absl::OkStatus(); });
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->opt_out_list(), "2026-11");
  trelink::v1::LogEntry entry;
  ASSERT_TRUE(entry.ParseFromString(*log_->Entry(table->log_index())));
  EXPECT_EQ(entry.opt_out_list(), "2026-11");
}

TEST_F(AggregateHandlerTest, CallCancelledBeforeTheWorkIsNeitherLoggedNorRemembered) {
  auto table = handler_->Count("analyst", Q2(), [] { return absl::CancelledError("client cancelled"); });
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kCancelled, ""));
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(history_.tables(), 0u);
}

TEST_F(AggregateHandlerTest, DeadlinePassingDuringEvaluationLeavesNoTrace) {
  // Waiting at the start, gone by the time the answer would be logged.
  int checks = 0;
  auto table = handler_->Count("analyst", Q2(), [&checks] {
    return ++checks == 1 ? absl::OkStatus() : absl::DeadlineExceededError("deadline passed");
  });
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kDeadlineExceeded, ""));
  EXPECT_GE(checks, 2);
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(LogBytes(), 0u);
  EXPECT_EQ(history_.tables(), 0u);
  // The same query answered afterwards is logged as the first entry.
  ASSERT_THAT(handler_->Count("analyst", Q2()), IsOk());
  EXPECT_EQ(log_->size(), 1u);
}

TEST_F(AggregateHandlerTest, RefusalOfAGoneCallIsNotLogged) {
  trelink::v1::CountQuery query = Q2();
  query.set_project("pilot");  // refused: the analyst does not hold it
  int checks = 0;
  auto table = handler_->Count("analyst", query, [&checks] {
    return ++checks == 1 ? absl::OkStatus() : absl::CancelledError("client cancelled");
  });
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kPermissionDenied, ""));
  EXPECT_EQ(log_->size(), 0u);
}

// The release history is written before the log append, so a table whose
// populations cannot be made durable (each file call of the history's
// commit failed in turn, as a full disk and as an I/O error) is refused,
// logged as a refusal without a table and not remembered: after a restart
// the history and the log agree. The same query succeeds once the disk has
// recovered.
TEST_F(AggregateHandlerTest, ATableTheReleaseHistoryCannotKeepIsNotReleased) {
  using ::trelink::testing::FaultySqliteVfs;
  using ::trelink::testing::StorageFault;
  FaultySqliteVfs::Install();
  struct Aggregator {
    std::unique_ptr<StoredReleaseHistory> history;
    std::unique_ptr<DisclosureControl> control;
    std::unique_ptr<AggregateHandler> handler;
  };
  const auto start = [this](const std::string& history_path) {
    Aggregator aggregator;
    auto history = StoredReleaseHistory::Open(history_path);
    EXPECT_THAT(history, IsOk());
    aggregator.history = *std::move(history);
    aggregator.control = *DisclosureControl::Create(control_->policy(), *aggregator.history, nullptr);
    aggregator.handler = std::make_unique<AggregateHandler>(AggregateContext{
        access_.get(), catalogue_, store_, aggregator.control.get(), log_.get(), &kClock, {"demo"}});
    return aggregator;
  };
  int64_t points = 0;
  {
    Aggregator clean = start(::trelink::testing::MakeTempDir() + "/releases");
    FaultySqliteVfs::Disarm();
    ASSERT_THAT(clean.handler->Count("analyst", Q2()), IsOk());
    points = FaultySqliteVfs::calls();
  }
  ASSERT_GT(points, 0);
  uint64_t logged = log_->size();
  int64_t injected = 0;
  for (StorageFault fault : {StorageFault::kDiskFull, StorageFault::kIoError}) {
    for (int64_t n = 1; n <= points; ++n) {
      SCOPED_TRACE(absl::StrCat(fault == StorageFault::kDiskFull ? "disk full" : "I/O error", " at call ", n));
      const std::string path = ::trelink::testing::MakeTempDir() + "/releases";
      {
        Aggregator aggregator = start(path);
        FaultySqliteVfs::FailCall(n, fault);
        auto table = aggregator.handler->Count("analyst", Q2());
        const bool failed = FaultySqliteVfs::failed() > 0;
        FaultySqliteVfs::Disarm();
        if (!failed) {  // a full disk from the commit's last fsync on: nothing failed
          EXPECT_THAT(table, IsOk());
          ++logged;
          continue;
        }
        ++injected;
        EXPECT_THAT(table, StatusIs(absl::StatusCode::kUnavailable, "the release history could not record this answer"));
        EXPECT_EQ(*aggregator.history->TableCount(), 0);
        ASSERT_EQ(log_->size(), ++logged);
        trelink::v1::LogEntry entry;
        ASSERT_TRUE(entry.ParseFromString(*log_->Entry(logged - 1)));
        EXPECT_FALSE(entry.has_table());
        EXPECT_EQ(entry.refusal_code(), "UNAVAILABLE");
      }
      Aggregator restarted = start(path);
      EXPECT_EQ(*restarted.history->TableCount(), 0);
      ASSERT_THAT(restarted.handler->Count("analyst", Q2()), IsOk());
      EXPECT_EQ(log_->size(), ++logged);
      EXPECT_GT(*restarted.history->TableCount(), 0);
    }
  }
  EXPECT_GT(injected, points);
  std::cout << injected << " faults injected\n";
}

// Growth of one over-limit refusal: time, caller, policy, code and a message
// naming the field, never the query.
constexpr uint64_t kMaxRefusalRecordBytes = 512;

TEST_F(AggregateHandlerTest, MegabyteQueryNameIsRefusedBeforeItIsLogged) {
  trelink::v1::CountQuery query = Q2();
  query.set_name(std::string(1 << 20, 'n'));
  const uint64_t before = LogBytes();
  auto table = handler_->Count("analyst", query);
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kInvalidArgument, "name: 1048576 bytes; at most 128"));
  EXPECT_EQ(log_->size(), 1u);  // the refusal of a known analyst is still on record
  EXPECT_LE(LogBytes() - before, kMaxRefusalRecordBytes);
  auto logged = log_->Entry(0);
  ASSERT_THAT(logged, IsOk());
  trelink::v1::LogEntry entry;
  ASSERT_TRUE(entry.ParseFromString(*logged));
  EXPECT_EQ(entry.caller(), "analyst");
  EXPECT_EQ(entry.refusal_code(), "INVALID_ARGUMENT");
  EXPECT_FALSE(entry.has_query());
}

TEST_F(AggregateHandlerTest, HundredThousandFilterValuesAreRefusedBeforeTheyAreLogged) {
  trelink::v1::CountQuery query = Q2();
  trelink::v1::DimensionFilter* filter = query.mutable_cohort()->add_filters();
  filter->set_attribute("child_age_band");
  for (int i = 0; i < 100000; ++i) filter->add_values("child");
  const uint64_t before = LogBytes();
  auto table = handler_->Count("analyst", query);
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kInvalidArgument,
                              "cohort.filters[0].values: 100000 entries; at most 256"));
  EXPECT_EQ(log_->size(), 1u);
  EXPECT_LE(LogBytes() - before, kMaxRefusalRecordBytes);
}

TEST_F(AggregateHandlerTest, ManySmallFieldsAreBoundedByTheQuerySize) {
  trelink::v1::CountQuery query = Q2();
  for (int f = 0; f < kMaxQueryFlags; ++f) {
    trelink::v1::Flag* flag = query.add_flags();
    flag->set_name(std::string(kMaxQueryLabelBytes, 'f'));
    for (int e = 0; e < kMaxQueryListEntries; ++e) flag->add_events(std::string(kMaxQueryLabelBytes, 'e'));
  }
  EXPECT_THAT(handler_->Count("analyst", query),
              StatusIs(absl::StatusCode::kInvalidArgument, "query: "));
  EXPECT_LE(LogBytes(), kMaxRefusalRecordBytes);
}

TEST_F(AggregateHandlerTest, CallerWithNoRoleIsCountedNotLogged) {
  trelink::v1::CountQuery query = Q2();
  query.set_name(std::string(1 << 20, 'n'));
  for (const std::string identity : {"provider.maternity", ""}) {
    EXPECT_THAT(handler_->Count(identity, query),
                StatusIs(identity.empty() ? absl::StatusCode::kUnauthenticated : absl::StatusCode::kPermissionDenied, ""));
    EXPECT_THAT(handler_->Count(identity, Q2()), ::testing::Not(IsOk()));
  }
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(LogBytes(), 0u);
  EXPECT_EQ(handler_->refused_strangers(), 4u);
}

TEST_F(AggregateHandlerTest, KnownCallerWithTheWrongRoleIsStillLoggedInFull) {
  EXPECT_THAT(handler_->Count("auditor", Q2()), StatusIs(absl::StatusCode::kPermissionDenied, ""));
  ASSERT_EQ(log_->size(), 1u);
  trelink::v1::LogEntry entry;
  ASSERT_TRUE(entry.ParseFromString(*log_->Entry(0)));
  EXPECT_EQ(entry.query().name(), Q2().name());
  EXPECT_EQ(handler_->refused_strangers(), 0u);
}

}  // namespace
}  // namespace trelink
