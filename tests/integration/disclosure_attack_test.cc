// Attacks on disclosure control, run against the aggregator's Count handler
// over a real linked store (SQLite), a real disclosure log and a real
// release history, in both modes. Each attack is one an analyst with the
// analyst certificate could mount; the attacker's side is an integer
// program over what was released (tests/support/integer_range.h), built
// from the query definitions and the published counts only. The guarantee
// checked: no count of 1..k-1 persons becomes determinable to within an
// interval narrower than k (sdc), or the budget stops the attack and
// repeats give nothing new (dp).
#include <gtest/gtest.h>

#include <map>
#include <filesystem>
#include <random>

#include "common/aggregate/count_query.h"
#include "common/config/text_config.h"
#include "common/sdc/stored_release_history.h"
#include "services/aggregator/aggregate_handler.h"
#include "tests/support/integer_range.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "tests/support/truth_linked_store.h"

namespace trelink {
namespace {

using ::trelink::testing::IntegerRange;
using ::trelink::testing::IsOk;
using ::trelink::testing::KnownSum;
using ::trelink::testing::Rounded;
using ::trelink::testing::StatusIs;
using trelink::v1::CountQuery;
using trelink::v1::CountTable;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));
constexpr int64_t kK = 10;

// One aggregator: its history, log, ledger and handler, on the shared store.
struct Aggregator {
  std::unique_ptr<StoredReleaseHistory> history;
  std::unique_ptr<SodiumRandom> noise;
  std::unique_ptr<DisclosureControl> control;
  std::unique_ptr<DisclosureLog> log;
  PrivacyLedger ledger;
  std::unique_ptr<AggregateHandler> handler;

  absl::StatusOr<CountTable> Count(const CountQuery& query) { return handler->Count("analyst", query); }
};

class DisclosureAttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    ASSERT_THAT(catalogue, IsOk());
    catalogue_ = new Catalogue(*std::move(catalogue));
    PopulationOptions options;
    options.mothers = 2500;
    options.seed = 29;
    truth_ = new std::vector<PersonAssignment>();
    store_ = ::trelink::testing::StoreLinkedByTruth(GeneratePopulation(options), *catalogue_, kClock, "demo", truth_)
                 .release();
    ASSERT_NE(store_, nullptr);
    trelink::v1::AccessPolicy access;
    access.add_principals()->set_identity("analyst");
    access.mutable_principals(0)->set_role(trelink::v1::ANALYST);
    access.mutable_principals(0)->add_projects("demo");
    access_ = new AccessPolicy(*AccessPolicy::Create(access));
  }

  // Starts an aggregator serving "demo" under `policy`, keeping its state
  // in `dir` (a restart reuses the directory).
  static std::unique_ptr<Aggregator> Start(const trelink::v1::DisclosurePolicy& policy, const std::string& dir) {
    auto aggregator = std::make_unique<Aggregator>();
    auto history = StoredReleaseHistory::Open(dir + "/releases");
    EXPECT_THAT(history, IsOk());
    aggregator->history = *std::move(history);
    aggregator->noise = std::make_unique<SodiumRandom>(*SodiumRandom::Create());
    auto control = DisclosureControl::Create(policy, *aggregator->history, aggregator->noise.get());
    EXPECT_THAT(control, IsOk());
    aggregator->control = *std::move(control);
    auto log = DisclosureLog::Open(dir + "/disclosure.log", *NoteSigner::Generate("attack-test"));
    EXPECT_THAT(log, IsOk());
    aggregator->log = *std::move(log);
    EXPECT_THAT(LoadLedger(*aggregator->log, aggregator->ledger), IsOk());
    AggregateContext context{access_, catalogue_, store_, aggregator->control.get(), aggregator->log.get(),
                             &kClock, {"demo"}};
    context.refresh_interval = absl::ZeroDuration();  // see a new generation at once
    context.ledger = &aggregator->ledger;
    aggregator->handler = std::make_unique<AggregateHandler>(context);
    return aggregator;
  }

  static trelink::v1::DisclosurePolicy Sdc() {
    trelink::v1::DisclosurePolicy policy;
    policy.set_version("attack-sdc");
    policy.set_threshold(kK);
    policy.set_rounding_base(5);
    policy.set_release_zeros(true);  // the default deployment's choice
    return policy;
  }

  static trelink::v1::DisclosurePolicy Dp() {
    trelink::v1::DisclosurePolicy policy = Sdc();
    policy.set_version("attack-dp");
    policy.set_mode(trelink::v1::DisclosurePolicy::DP);
    return policy;  // default budget: epsilon 0.5 per query, 10 in all
  }

  // The true counts of a query's cells (no disclosure control).
  static std::vector<uint64_t> Truth(const CountQuery& query) {
    static std::shared_ptr<const EventIndex> index;
    auto latest = store_->LatestReport("demo");
    EXPECT_THAT(latest, IsOk());
    if (index == nullptr || index->generation() != (*latest)->generation()) {
      auto built = EventIndex::Build(*store_, *catalogue_, "demo");
      EXPECT_THAT(built, IsOk());
      index = *built;
    }
    auto evaluated = EvaluateCount(*index, query, 2000);
    EXPECT_THAT(evaluated, IsOk());
    std::vector<uint64_t> counts;
    for (const TableCell& cell : evaluated->table.cells) counts.push_back(cell.count());
    return counts;
  }

  static CountQuery Q3b() {
    CountQuery query;
    EXPECT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) +
                                   "/deploy/queries/q3b_newborn_proceedings_by_deprivation.textproto",
                               query),
                IsOk());
    return query;
  }

  // Births in a set of deciles (bit d: decile d + 1).
  static CountQuery BirthsIn(uint32_t deciles) {
    CountQuery query;
    query.set_project("demo");
    query.set_name("births in some deciles");
    query.mutable_cohort()->set_dataset("maternity");
    query.mutable_cohort()->add_events("birth");
    query.mutable_cohort()->set_role("baby");
    auto* filter = query.mutable_cohort()->add_filters();
    filter->set_attribute("imd_decile");
    for (int d = 0; d < 10; ++d) {
      if (deciles & (1u << d)) filter->add_values(std::to_string(d + 1));
    }
    return query;
  }

  static Catalogue* catalogue_;
  static SqliteLinkedStore* store_;
  static std::vector<PersonAssignment>* truth_;
  static AccessPolicy* access_;
};

Catalogue* DisclosureAttackTest::catalogue_ = nullptr;
SqliteLinkedStore* DisclosureAttackTest::store_ = nullptr;
std::vector<PersonAssignment>* DisclosureAttackTest::truth_ = nullptr;
AccessPolicy* DisclosureAttackTest::access_ = nullptr;


// Q3b's unknowns: births by decile level (1..10, missing) and flag (no, yes).
int Unknown(const std::string& decile, const std::string& flag) {
  const int d = decile == "missing" ? 10 : std::stoi(decile) - 1;
  return 2 * d + (flag == "yes" ? 1 : 0);
}

std::vector<int> UnknownsOf(const trelink::v1::Cell& cell) {
  std::vector<int> unknowns;
  for (int d = 0; d < 11; ++d) {
    const std::string decile = d == 10 ? "missing" : std::to_string(d + 1);
    if (cell.values(0) != "*" && cell.values(0) != decile) continue;
    for (const std::string flag : {"no", "yes"}) {
      if (cell.values(1) == "*" || cell.values(1) == flag) unknowns.push_back(Unknown(decile, flag));
    }
  }
  return unknowns;
}

std::vector<int> DecileUnknowns(uint32_t deciles) {
  std::vector<int> unknowns;
  for (int d = 0; d < 10; ++d) {
    if (deciles & (1u << d)) {
      unknowns.push_back(2 * d);
      unknowns.push_back(2 * d + 1);
    }
  }
  return unknowns;
}

void KnowTable(const CountTable& table, std::vector<KnownSum>& known) {
  for (const auto& cell : table.cells()) {
    if (cell.status() != trelink::v1::SUPPRESSED) known.push_back(Rounded(UnknownsOf(cell), cell.count()));
  }
}

// Every interior Q3b cell of 1..k-1 births keeps an interval of k.
void ExpectSmallCellsProtected(const CountTable& q3b, const std::vector<uint64_t>& truth,
                               const std::vector<KnownSum>& known, int& small) {
  for (int c = 0; c < q3b.cells_size(); ++c) {
    const auto& cell = q3b.cells(c);
    if (cell.is_total() || truth[static_cast<size_t>(c)] == 0 || truth[static_cast<size_t>(c)] >= kK) continue;
    ++small;
    auto range = IntegerRange(22, known, {Unknown(cell.values(0), cell.values(1))});
    ASSERT_TRUE(range.has_value());
    EXPECT_GE(range->second - range->first, kK)
        << "decile " << cell.values(0) << " flag " << cell.values(1) << ": true " << truth[static_cast<size_t>(c)]
        << ", attacker's range [" << range->first << ", " << range->second << "]";
  }
}

// Attack 1: a suppressed cell of Q3b recovered by combining 105 counts of
// births in sets of deciles (never two sets differing by one decile alone).
TEST_F(DisclosureAttackTest, CombiningManyCountsDoesNotRecoverASuppressedCell) {
  auto aggregator = Start(Sdc(), ::trelink::testing::MakeTempDir());
  const CountQuery q3b = Q3b();
  const std::vector<uint64_t> truth = Truth(q3b);
  auto table = aggregator->Count(q3b);
  ASSERT_THAT(table, IsOk());
  std::vector<KnownSum> known, unprotected;
  KnowTable(*table, known);
  for (int c = 0; c < table->cells_size(); ++c) {
    unprotected.push_back(Rounded(UnknownsOf(table->cells(c)), RoundToBase(truth[static_cast<size_t>(c)], 5)));
  }
  std::mt19937 rng(3);
  int released = 0;
  for (int q = 0; q < 105; ++q) {
    uint32_t deciles = 0;
    while (__builtin_popcount(deciles) < 2 || __builtin_popcount(deciles) > 8) deciles = rng() % 1024;
    const CountQuery births = BirthsIn(deciles);
    auto answer = aggregator->Count(births);
    ASSERT_THAT(answer, IsOk());
    unprotected.push_back(Rounded(DecileUnknowns(deciles), RoundToBase(Truth(births)[0], 5)));
    if (answer->cells(0).status() != trelink::v1::SUPPRESSED) {
      ++released;
      known.push_back(Rounded(DecileUnknowns(deciles), answer->cells(0).count()));
    }
  }
  int small = 0;
  ExpectSmallCellsProtected(*table, truth, known, small);
  EXPECT_GT(small, 0) << "the data should have small cells to attack";
  EXPECT_GT(released, 10) << "the audit should not refuse everything";
  // The same counts released without the audit would give some away.
  int exposed = 0;
  for (int c = 0; c < table->cells_size(); ++c) {
    const auto& cell = table->cells(c);
    if (cell.is_total() || truth[static_cast<size_t>(c)] == 0 || truth[static_cast<size_t>(c)] >= kK) continue;
    auto range = IntegerRange(22, unprotected, {Unknown(cell.values(0), cell.values(1))});
    if (range.has_value() && range->second - range->first < kK) ++exposed;
  }
  EXPECT_GT(exposed, 0) << "without protection the attack should narrow a small cell";
}

// Attack 3: a one-way table re-releasing row totals that the two-way table
// suppressed.
TEST_F(DisclosureAttackTest, AnotherTableDoesNotReReleaseSuppressedMargins) {
  auto aggregator = Start(Sdc(), ::trelink::testing::MakeTempDir());
  const CountQuery q3b = Q3b();
  auto table = aggregator->Count(q3b);
  ASSERT_THAT(table, IsOk());
  CountQuery by_decile = q3b;
  by_decile.clear_flags();
  by_decile.mutable_group_by()->RemoveLast();
  auto one_way = aggregator->Count(by_decile);
  ASSERT_THAT(one_way, IsOk());
  std::vector<KnownSum> known;
  KnowTable(*table, known);
  for (const auto& cell : one_way->cells()) {
    if (cell.status() == trelink::v1::SUPPRESSED) continue;
    trelink::v1::Cell as_margin = cell;
    as_margin.add_values("*");
    known.push_back(Rounded(UnknownsOf(as_margin), cell.count()));
  }
  int small = 0;
  ExpectSmallCellsProtected(*table, Truth(q3b), known, small);
  EXPECT_GT(small, 0);
}

// Attack 2: a difference refused in one linkage generation asked again
// after re-linkage drew new linkage ids.
TEST_F(DisclosureAttackTest, ReLinkageDoesNotResetWhatWasReleased) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  auto aggregator = Start(Sdc(), dir);
  CountQuery wide = BirthsIn(0x3FF);
  wide.mutable_cohort()->clear_filters();
  wide.mutable_cohort()->set_from_date("2019-01-01");
  wide.mutable_cohort()->set_to_date("2019-12-31");
  // A narrower range whose births differ by 1..k-1.
  CountQuery narrow = wide;
  const uint64_t all = Truth(wide)[0];
  for (int day = 30; day >= 20; --day) {
    narrow.mutable_cohort()->set_to_date(absl::StrCat("2019-12-", day));
    const uint64_t difference = all - Truth(narrow)[0];
    if (difference >= 1 && difference < kK) break;
  }
  const uint64_t difference = all - Truth(narrow)[0];
  ASSERT_TRUE(difference >= 1 && difference < kK) << difference;
  ASSERT_THAT(aggregator->Count(wide), IsOk());
  auto refused = aggregator->Count(narrow);
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->cells(0).status(), trelink::v1::SUPPRESSED);
  const uint64_t first_generation = refused->generation();
  // Re-link: the same links under new random linkage ids.
  std::vector<PersonAssignment> relinked = *truth_;
  for (PersonAssignment& a : relinked) a.person_id = a.person_id * 6364136223846793005ull + 1442695040888963407ull;
  trelink::v1::LinkageReport report;
  ASSERT_THAT(store_->SaveCompleteGeneration("demo", report, relinked, {}), IsOk());
  auto again = aggregator->Count(narrow);
  ASSERT_THAT(again, IsOk());
  EXPECT_GT(again->generation(), first_generation);
  EXPECT_EQ(again->cells(0).status(), trelink::v1::SUPPRESSED) << "the difference of " << difference;
  // And after a restart of the aggregator, too.
  aggregator.reset();
  aggregator = Start(Sdc(), dir);
  auto restarted = aggregator->Count(narrow);
  ASSERT_THAT(restarted, IsOk());
  EXPECT_EQ(restarted->cells(0).status(), trelink::v1::SUPPRESSED);
}

// Attack 4: statuses. Every withheld cell looks the same, whatever the
// reason; the reason is in the log for auditors.
TEST_F(DisclosureAttackTest, OneSuppressedStatusReasonsOnlyInTheLog) {
  trelink::v1::DisclosurePolicy policy = Sdc();
  policy.set_release_zeros(false);
  auto aggregator = Start(policy, ::trelink::testing::MakeTempDir());
  std::map<trelink::v1::SuppressionReason, int> reasons;
  for (const auto& file : std::filesystem::directory_iterator(std::string(TRELINK_SOURCE_DIR) + "/deploy/queries")) {
    CountQuery query;
    ASSERT_THAT(LoadTextConfig(file.path().string(), query), IsOk());
    auto table = aggregator->Count(query);
    ASSERT_THAT(table, IsOk()) << file.path();
    const std::vector<uint64_t> truth = Truth(query);
    trelink::v1::LogEntry entry;
    ASSERT_TRUE(entry.ParseFromString(*aggregator->log->Entry(table->log_index())));
    ASSERT_EQ(entry.suppression_reasons_size(), table->cells_size());
    for (int c = 0; c < table->cells_size(); ++c) {
      const auto& cell = table->cells(c);
      EXPECT_TRUE(cell.status() == trelink::v1::ROUNDED || cell.status() == trelink::v1::SUPPRESSED);
      if (cell.status() == trelink::v1::SUPPRESSED) {
        EXPECT_EQ(cell.count(), 0u);
        EXPECT_NE(entry.suppression_reasons(c), trelink::v1::NOT_SUPPRESSED);
        ++reasons[entry.suppression_reasons(c)];
      } else {
        EXPECT_EQ(entry.suppression_reasons(c), trelink::v1::NOT_SUPPRESSED);
        EXPECT_GE(truth[static_cast<size_t>(c)], static_cast<uint64_t>(kK));
      }
    }
  }
  // Zeros and small counts were both withheld, under the one status.
  EXPECT_GT(reasons[trelink::v1::ZERO], 0);
  EXPECT_GT(reasons[trelink::v1::BELOW_THRESHOLD], 0);
}

// A randomised attacker: 45 counts of births with random filters on decile
// and mother's age band, solved by integer programming over the 40 groups
// (decile x age band) they are made of.
TEST_F(DisclosureAttackTest, RandomisedAttackerLearnsNoSmallGroupWithinK) {
  auto aggregator = Start(Sdc(), ::trelink::testing::MakeTempDir());
  const std::vector<std::string> bands = {"under_20", "age_20_29", "age_30_39", "age_40_plus"};
  auto group = [&](uint32_t deciles, uint32_t ages) {
    CountQuery query = BirthsIn(deciles);
    auto* filter = query.mutable_cohort()->add_filters();
    filter->set_attribute("mother_age_band");
    for (int a = 0; a < 4; ++a) {
      if (ages & (1u << a)) filter->add_values(bands[static_cast<size_t>(a)]);
    }
    return query;
  };
  std::mt19937 rng(41);
  std::vector<KnownSum> known;
  for (int q = 0; q < 45; ++q) {
    const uint32_t deciles = 1 + rng() % 1023, ages = 1 + rng() % 15;
    auto answer = aggregator->Count(group(deciles, ages));
    ASSERT_THAT(answer, IsOk());
    if (answer->cells(0).status() == trelink::v1::SUPPRESSED) continue;
    KnownSum sum = Rounded({}, answer->cells(0).count());
    for (int d = 0; d < 10; ++d) {
      for (int a = 0; a < 4; ++a) {
        if ((deciles & (1u << d)) && (ages & (1u << a))) sum.unknowns.push_back(4 * d + a);
      }
    }
    known.push_back(sum);
  }
  int small = 0;
  for (int d = 0; d < 10; ++d) {
    for (int a = 0; a < 4; ++a) {
      const uint64_t truth = Truth(group(1u << d, 1u << a))[0];
      if (truth == 0 || truth >= kK) continue;
      ++small;
      auto range = IntegerRange(40, known, {4 * d + a});
      ASSERT_TRUE(range.has_value());
      EXPECT_GE(range->second - range->first, kK) << "decile " << d + 1 << " band " << bands[a] << " true " << truth;
    }
  }
  EXPECT_GT(small, 0);
  EXPECT_GT(known.size(), 20u);
}

// dp mode: the combination attack meets the budget; a repeated question gets
// the same noisy answer (nothing to average), also after a restart.
TEST_F(DisclosureAttackTest, DpBudgetStopsTheAttackAndRepeatsGiveNothingNew) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  auto aggregator = Start(Dp(), dir);
  const CountQuery q3b = Q3b();
  auto first = aggregator->Count(q3b);
  ASSERT_THAT(first, IsOk());
  std::mt19937 rng(3);
  int answered = 1, refused = 0;
  for (int q = 0; q < 40; ++q) {
    uint32_t deciles = 0;
    while (__builtin_popcount(deciles) < 2) deciles = rng() % 1024;
    auto answer = aggregator->Count(BirthsIn(deciles));
    if (answer.ok()) {
      ++answered;
    } else {
      EXPECT_THAT(answer, StatusIs(absl::StatusCode::kResourceExhausted, "privacy budget"));
      ++refused;
    }
  }
  EXPECT_EQ(answered, 20) << "a budget of 10 at 0.5 per query";
  EXPECT_GT(refused, 0);
  EXPECT_EQ(aggregator->ledger.spent("demo"), 10000000u);
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto again = aggregator->Count(q3b);
    ASSERT_THAT(again, IsOk());
    ASSERT_EQ(again->cells_size(), first->cells_size());
    for (int c = 0; c < first->cells_size(); ++c) {
      EXPECT_EQ(again->cells(c).count(), first->cells(c).count());
      EXPECT_EQ(again->cells(c).status(), first->cells(c).status());
    }
  }
  // Noise, not exact counts: released cells are thresholded and rounded,
  // and some differ from the truth by more than rounding would explain.
  const std::vector<uint64_t> truth = Truth(q3b);
  ASSERT_EQ(truth.size(), static_cast<size_t>(first->cells_size()));
  int beyond_rounding = 0;
  for (int c = 0; c < first->cells_size(); ++c) {
    if (first->cells(c).status() == trelink::v1::SUPPRESSED) continue;
    EXPECT_EQ(first->cells(c).count() % 5, 0u);
    EXPECT_GE(first->cells(c).count(), static_cast<uint64_t>(kK));
    if (first->cells(c).count() != RoundToBase(truth[static_cast<size_t>(c)], 5)) ++beyond_rounding;
  }
  EXPECT_GT(beyond_rounding, 0);
  // A restart rebuilds the ledger from the log.
  aggregator.reset();
  aggregator = Start(Dp(), dir);
  EXPECT_EQ(aggregator->ledger.spent("demo"), 10000000u);
  EXPECT_THAT(aggregator->Count(BirthsIn(0x3)), StatusIs(absl::StatusCode::kResourceExhausted, "privacy budget"));
  auto after_restart = aggregator->Count(q3b);
  ASSERT_THAT(after_restart, IsOk());
  EXPECT_EQ(after_restart->cells(0).count(), first->cells(0).count());
}

}  // namespace
}  // namespace trelink
