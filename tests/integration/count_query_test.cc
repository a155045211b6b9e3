// Count queries over a real (SQLite) store whose persons come from the
// synthetic ground truth: known answers, and bad queries refused by field.
#include "common/aggregate/count_query.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"

#include "common/config/text_config.h"
#include "common/linkage/linkage_run.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "tests/support/truth_linked_store.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

class CountQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    ASSERT_THAT(catalogue, IsOk());
    catalogue_ = new Catalogue(*std::move(catalogue));
    PopulationOptions options;
    options.mothers = 1500;
    options.seed = 9;
    population_ = new SyntheticPopulation(GeneratePopulation(options));
    store_ = ::trelink::testing::StoreLinkedByTruth(*population_, *catalogue_, kClock, "demo").release();
    ASSERT_NE(store_, nullptr);
    auto index = EventIndex::Build(*store_, *catalogue_, "demo");
    ASSERT_THAT(index, IsOk());
    index_ = new std::shared_ptr<const EventIndex>(*index);
  }

  static trelink::v1::CountQuery Query(const std::string& text) {
    trelink::v1::CountQuery query;
    EXPECT_THAT(ParseTextConfig(text, "test", query), IsOk());
    return query;
  }

  static absl::StatusOr<EvaluatedCount> Run(const std::string& text, uint32_t max_cells = 2000) {
    return EvaluateCount(**index_, Query(text), max_cells);
  }

  static uint64_t CountRows(const std::string& dataset, const std::string& event) {
    const SyntheticDataset& d = population_->datasets.at(dataset);
    const size_t column = std::find(d.header.begin(), d.header.end(), "event") - d.header.begin();
    uint64_t n = 0;
    for (const auto& row : d.rows) n += row.cells[column] == event;
    return n;
  }

  static Catalogue* catalogue_;
  static SyntheticPopulation* population_;
  static SqliteLinkedStore* store_;
  static std::shared_ptr<const EventIndex>* index_;
};

Catalogue* CountQueryTest::catalogue_ = nullptr;
SyntheticPopulation* CountQueryTest::population_ = nullptr;
SqliteLinkedStore* CountQueryTest::store_ = nullptr;
std::shared_ptr<const EventIndex>* CountQueryTest::index_ = nullptr;

TEST_F(CountQueryTest, BirthsCountDistinctBabies) {
  // Every birth row is a different baby: the count equals the rows.
  auto result = Run(R"pb(project: "demo" cohort { dataset: "maternity" events: "birth" role: "baby" })pb");
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->table.cells.size(), 1u);
  EXPECT_EQ(result->table.cells[0].count(), CountRows("maternity", "birth"));
}

TEST_F(CountQueryTest, MarginsAreUnionsAndCellsPartitionByDimension) {
  auto result = Run(R"pb(project: "demo" cohort { dataset: "maternity" events: "birth" role: "baby" }
                         group_by { attribute: "region" } include_totals: true)pb");
  ASSERT_THAT(result, IsOk());
  uint64_t sum = 0, total = 0;
  for (const auto& cell : result->table.cells) {
    if (cell.coords[0] < 0) {
      total = cell.count();
    } else {
      sum += cell.count();
    }
  }
  EXPECT_EQ(total, CountRows("maternity", "birth"));
  EXPECT_EQ(sum, total);  // a baby has one birth, so one region
  EXPECT_EQ(result->level_labels[0].size(), 10u);  // nine regions and "missing"
}

// Each cell holds exactly the births whose row has its level: the index
// keeps every event's attribute values with the event however it lays the
// events out.
TEST_F(CountQueryTest, EachCellHoldsTheBirthsOfItsLevel) {
  for (const std::string attribute : {"region", "imd_decile"}) {
    auto result = Run(absl::StrCat(R"pb(project: "demo" cohort { dataset: "maternity" events: "birth" role: "baby" }
                                        group_by { attribute: ")pb",
                                   attribute, R"pb(" })pb"));
    ASSERT_THAT(result, IsOk());
    const SyntheticDataset& d = population_->datasets.at("maternity");
    const size_t event = std::find(d.header.begin(), d.header.end(), "event") - d.header.begin();
    const size_t column = std::find(d.header.begin(), d.header.end(), attribute) - d.header.begin();
    ASSERT_LT(column, d.header.size()) << attribute;
    std::map<std::string, uint64_t> births;
    for (const auto& row : d.rows) {
      if (row.cells[event] == "birth") births[row.cells[column].empty() ? "missing" : row.cells[column]]++;
    }
    uint64_t checked = 0;
    for (const auto& cell : result->table.cells) {
      const std::string& level = result->level_labels[0][static_cast<size_t>(cell.coords[0])];
      EXPECT_EQ(cell.count(), births[level]) << attribute << " " << level;
      checked += cell.count();
    }
    EXPECT_EQ(checked, CountRows("maternity", "birth"));
  }
}

TEST_F(CountQueryTest, ThreeWayTablesHaveMarginsOfEveryOrder) {
  auto result = Run(R"pb(project: "demo" cohort { dataset: "maternity" events: "birth" role: "baby" }
                         group_by { attribute: "region" } group_by { attribute: "imd_decile" }
                         group_by { attribute: "mother_age_band" } include_totals: true)pb");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->table.cells.size(), 11u * 12u * 6u);
  int margins = 0;
  for (const auto& margin : result->table.cells) {
    if (std::all_of(margin.coords.begin(), margin.coords.end(), [](int c) { return c >= 0; })) continue;
    ++margins;
    // A baby has one birth, so a margin is the sum of the cells it covers.
    uint64_t sum = 0;
    for (const auto& cell : result->table.cells) {
      bool covered = std::all_of(cell.coords.begin(), cell.coords.end(), [](int c) { return c >= 0; });
      for (size_t d = 0; d < 3 && covered; ++d) covered = margin.coords[d] == -1 || margin.coords[d] == cell.coords[d];
      if (covered) sum += cell.count();
    }
    EXPECT_EQ(margin.count(), sum);
    if (margin.coords == std::vector<int>{-1, -1, -1}) {
      EXPECT_EQ(margin.count(), CountRows("maternity", "birth"));
    }
  }
  EXPECT_EQ(margins, 11 * 12 * 6 - 10 * 11 * 5);
}

TEST_F(CountQueryTest, BadQueriesAreRefusedNamingTheField) {
  EXPECT_THAT(Run(R"pb(cohort { dataset: "prisons" events: "x" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.dataset: \"prisons\""));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "wedding" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.events: \"wedding\""));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.events: at least one event"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "father" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.role"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" } group_by { attribute: "shoe_size" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "group_by[0].attribute: \"shoe_size\""));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "social_care" events: "looked_after" } group_by { attribute: "local_authority" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "group_by[0].attribute: \"local_authority\" is not groupable"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" } group_by { flag: "nope" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "group_by[0].flag"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" }
                       flags { name: "f" dataset: "court" events: "care_proceedings" from_days: 30 to_days: 0 })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "flags[0].from_days: greater than to_days"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" from_date: "1950-01-01" to_date: "1960-12-31" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.from_date: the range is outside the data"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" from_date: "2020-02-30" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.from_date: not an ISO date"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" filters { attribute: "region" values: "Narnia" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "cohort.filters[0].values"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" }
                       group_by { attribute: "region" } group_by { attribute: "imd_decile" } group_by { derived: EVENT_YEAR }
                       group_by { attribute: "mother_age_band" } group_by { flag: "f" }
                       flags { name: "f" dataset: "court" events: "care_proceedings" any_time: true }
                       include_totals: true)pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "include_totals: margins are produced for at most 4"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" }
                       group_by { attribute: "region" } group_by { attribute: "imd_decile" } group_by { derived: EVENT_YEAR })pb",
                  500),
              StatusIs(absl::StatusCode::kResourceExhausted, "the cap is 500"));
}

// Adversarial group_by lists: each extra dimension multiplies the table, and
// 64 dimensions of 10 levels (10^64 = 0 mod 2^64) once wrapped the cell count
// to 0, passed the cap and crashed the aggregator on allocation.
TEST_F(CountQueryTest, GroupByIsBoundedBeforeTheTableIsBuilt) {
  std::string repeated = R"pb(cohort { dataset: "maternity" events: "birth" })pb";
  for (int i = 0; i < 64; ++i) repeated += R"pb( group_by { attribute: "region" })pb";
  EXPECT_THAT(Run(repeated), StatusIs(absl::StatusCode::kInvalidArgument, "group_by: 64 dimensions; at most 8"));

  // Distinct dimensions: 64 yes/no flags are 2^64 cells, also 0 mod 2^64.
  auto flags = [](int n) {
    std::string text = R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" })pb";
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&text, " flags { name: \"f", i, "\" dataset: \"court\" events: \"care_proceedings\"",
                      " any_time: true } group_by { flag: \"f", i, "\" }");
    }
    return text;
  };
  EXPECT_THAT(Run(flags(64)), StatusIs(absl::StatusCode::kInvalidArgument, "group_by: 64 dimensions"));
  auto eight = Run(flags(kMaxGroupBy), 1u << 16);
  ASSERT_THAT(eight, IsOk());
  EXPECT_EQ(eight->table.cells.size(), 256u);

  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" }
                       group_by { attribute: "region" } group_by { attribute: "imd_decile" }
                       group_by { attribute: "region" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "group_by[2]: duplicates group_by[0]"));
  EXPECT_THAT(Run(R"pb(cohort { dataset: "maternity" events: "birth" }
                       group_by { derived: EVENT_YEAR } group_by { derived: EVENT_YEAR })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "group_by[1]: duplicates group_by[0]"));

  // Margins count towards the cap: 10 regions x 11 deciles is 110 cells,
  // 11 x 12 = 132 with totals.
  const std::string two = R"pb(cohort { dataset: "maternity" events: "birth" }
                               group_by { attribute: "region" } group_by { attribute: "imd_decile" })pb";
  EXPECT_THAT(Run(two, 110), IsOk());
  EXPECT_THAT(Run(two + " include_totals: true", 131),
              StatusIs(absl::StatusCode::kResourceExhausted, "the cap is 131"));
}

TEST_F(CountQueryTest, FlagsOverRelatedPersonsAndWindows) {
  // Babies with care proceedings at any time vs within 28 days of birth.
  auto any = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" }
                      flags { name: "p" dataset: "court" events: "care_proceedings" whom: SAME_PERSON any_time: true })pb");
  auto newborn = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" }
                          flags { name: "p" dataset: "court" events: "care_proceedings" whom: SAME_PERSON from_days: 0 to_days: 27 })pb");
  ASSERT_THAT(any, IsOk());
  ASSERT_THAT(newborn, IsOk());
  EXPECT_GT(any->table.cells[0].count(), 0u);
  EXPECT_LE(newborn->table.cells[0].count(), any->table.cells[0].count());
  // The mothers of those babies, reached through the mother-baby relation.
  auto mothers = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "mother" }
                          flags { name: "p" dataset: "court" events: "care_proceedings" whom: RELATED_PERSON any_time: true })pb");
  ASSERT_THAT(mothers, IsOk());
  EXPECT_GT(mothers->table.cells[0].count(), 0u);
  EXPECT_LE(mothers->table.cells[0].count(), any->table.cells[0].count());
}

// Found while writing fuzz/count_query_fuzzer (its corpus keeps the input):
// a window at the ends of int32 overflowed the day arithmetic. Such a window
// holds nothing (or everything) and the query is answered.
TEST_F(CountQueryTest, AFlagWindowAtTheLimitsOfInt32IsAnswered) {
  auto far = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" }
                      flags { name: "p" dataset: "court" events: "care_proceedings" from_days: 2147483000 to_days: 2147483647 }
                      group_by { flag: "p" })pb");
  ASSERT_THAT(far, IsOk());
  for (const auto& cell : far->table.cells) {
    if (cell.coords[0] == 1) {
      EXPECT_EQ(cell.count(), 0u);
    }
  }
  auto all = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" }
                      flags { name: "p" dataset: "court" events: "care_proceedings" from_days: -2147483648 to_days: 2147483647 })pb");
  auto any = Run(R"pb(cohort { dataset: "maternity" events: "birth" role: "baby" }
                      flags { name: "p" dataset: "court" events: "care_proceedings" any_time: true })pb");
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(all->table.cells[0].count(), any->table.cells[0].count());
}

}  // namespace
}  // namespace trelink
