#include "common/sdc/deviation_program.h"

#include <glpk.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trelink {
namespace {

using Point = std::vector<int64_t>;

int64_t SumOf(const Point& point, const std::vector<int>& columns) {
  int64_t sum = 0;
  for (int j : columns) sum += point[static_cast<size_t>(j)];
  return sum;
}

class DeviationProgramTest : public ::testing::Test {
 protected:
  ~DeviationProgramTest() override { glp_free_env(); }
  const absl::Time deadline_ = absl::Now() + absl::Seconds(30);
};

// A class of 3 and one of 20 in a released cell whose count may move by 2:
// the small class can be raised by 22 (the large one emptied) and lowered
// to none.
TEST_F(DeviationProgramTest, FindsBothEndsOfOneCount) {
  DeviationProgram program({{-3, 40}, {-20, 40}}, {{{0, 1}, -2, 2}});
  const std::optional<Point> high = program.Extreme({0}, true, deadline_);
  ASSERT_TRUE(high.has_value());
  EXPECT_EQ((*high)[0], 22);
  EXPECT_EQ((*high)[1], -20);
  const std::optional<Point> low = program.Extreme({0}, false, deadline_);
  ASSERT_TRUE(low.has_value());
  EXPECT_EQ((*low)[0], -3);
  EXPECT_GE((*low)[0] + (*low)[1], -2);
  EXPECT_LE((*low)[0] + (*low)[1], 2);
}

// Three pairwise sums each at most 1: the LP optimum of a + b + c is 3/2 at
// a fractional point; the integer point the analyst could hold is 1.
TEST_F(DeviationProgramTest, AFractionalOptimumIsReplacedByTheIntegerOne) {
  DeviationProgram program({{0, 5}, {0, 5}, {0, 5}}, {{{0, 1}, 0, 1}, {{0, 2}, 0, 1}, {{1, 2}, 0, 1}});
  const std::optional<Point> high = program.Extreme({0, 1, 2}, true, deadline_);
  ASSERT_TRUE(high.has_value());
  EXPECT_EQ(SumOf(*high, {0, 1, 2}), 1);
  for (const std::vector<int>& row : std::vector<std::vector<int>>{{0, 1}, {0, 2}, {1, 2}}) {
    EXPECT_LE(SumOf(*high, row), 1);
    EXPECT_GE(SumOf(*high, row), 0);
  }
}

// Classes that nothing ties to the count stay at their true sizes: the
// point moves only what it must, so later releases rarely break it.
TEST_F(DeviationProgramTest, APointMovesOnlyTheClassesItMust) {
  std::vector<DeviationProgram::Column> columns(40, {-10, 40});
  std::vector<int> others(38);
  std::iota(others.begin(), others.end(), 2);
  DeviationProgram program(columns, {{{0, 1}, -2, 2}, {others, -2, 2}});
  const std::optional<Point> high = program.Extreme({0}, true, deadline_);
  ASSERT_TRUE(high.has_value());
  EXPECT_EQ((*high)[0], 12);
  EXPECT_EQ((*high)[1], -10);
  for (int j : others) EXPECT_EQ((*high)[static_cast<size_t>(j)], 0) << "column " << j;
}

// Pairwise sums each at most 3: the LP optimum of a + b + c is 9/2, the
// integer one 4. Asked for a point reaching 3 (or at most -3 below), the
// search may stop early but never returns one short of it.
TEST_F(DeviationProgramTest, AnIntegerSearchReturnsAPointThatIsEnough) {
  const std::vector<std::vector<int>> pairs = {{0, 1}, {0, 2}, {1, 2}};
  DeviationProgram program({{-5, 5}, {-5, 5}, {-5, 5}},
                           {{pairs[0], -3, 3}, {pairs[1], -3, 3}, {pairs[2], -3, 3}});
  const std::optional<Point> high = program.Extreme({0, 1, 2}, true, deadline_, 3);
  ASSERT_TRUE(high.has_value());
  EXPECT_GE(SumOf(*high, {0, 1, 2}), 3);
  const std::optional<Point> low = program.Extreme({0, 1, 2}, false, deadline_, -3);
  ASSERT_TRUE(low.has_value());
  EXPECT_LE(SumOf(*low, {0, 1, 2}), -3);
  for (const Point* point : {&*high, &*low}) {
    for (const std::vector<int>& pair : pairs) {
      EXPECT_LE(SumOf(*point, pair), 3);
      EXPECT_GE(SumOf(*point, pair), -3);
    }
  }
}

// Random programs, with fractional vertices and rows over a single column
// (folded into that column's bounds) among them: a point asked to be
// enough is an integer point inside every column's and row's bounds, as
// given, that reaches it, and one is found whenever the integer optimum
// reaches it.
TEST_F(DeviationProgramTest, RandomProgramsGiveOnlyFeasiblePointsThatAreEnough) {
  std::mt19937 random(20261128);
  auto uniform = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(random); };
  int reached = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int width = static_cast<int>(uniform(2, 8));
    std::vector<DeviationProgram::Column> columns;
    for (int j = 0; j < width; ++j) columns.push_back({-uniform(0, 12), uniform(1, 40)});
    std::vector<DeviationProgram::Row> rows;
    for (int64_t r = uniform(1, 8); r > 0; --r) {
      DeviationProgram::Row row{{}, -uniform(0, 3), uniform(0, 3)};
      for (int j = 0; j < width; ++j) {
        if (uniform(0, 1) == 1) row.columns.push_back(j);
      }
      if (!row.columns.empty()) rows.push_back(row);
    }
    std::vector<int> objective;
    for (int j = 0; j < width; ++j) {
      if (j == 0 || uniform(0, 2) == 0) objective.push_back(j);
    }
    auto feasible = [&](const Point& point) {
      for (size_t j = 0; j < columns.size(); ++j) {
        if (point[j] < columns[j].low || point[j] > columns[j].high) return false;
      }
      return std::all_of(rows.begin(), rows.end(), [&](const DeviationProgram::Row& row) {
        const int64_t sum = SumOf(point, row.columns);
        return sum >= row.low && sum <= row.high;
      });
    };
    for (const bool maximise : {true, false}) {
      DeviationProgram optimum_of(columns, rows);
      const std::optional<Point> optimum = optimum_of.Extreme(objective, maximise, deadline_);
      ASSERT_TRUE(optimum.has_value()) << "trial " << trial;
      ASSERT_TRUE(feasible(*optimum)) << "trial " << trial;
      const int64_t best = SumOf(*optimum, objective);
      for (const int64_t enough : {int64_t{1}, int64_t{3}, int64_t{10}}) {
        const int64_t target = maximise ? enough : -enough;
        DeviationProgram program(columns, rows);
        const std::optional<Point> point = program.Extreme(objective, maximise, deadline_, target);
        const bool reachable = maximise ? best >= target : best <= target;
        ASSERT_EQ(point.has_value() && (maximise ? SumOf(*point, objective) >= target
                                                 : SumOf(*point, objective) <= target),
                  reachable)
            << "trial " << trial << ", enough " << target << ", optimum " << best;
        if (point.has_value()) {
          ASSERT_TRUE(feasible(*point)) << "trial " << trial << ", enough " << target;
        }
        reached += reachable ? 1 : 0;
      }
    }
  }
  EXPECT_GT(reached, 300);  // the programs are not all too tight to settle anything
}

TEST_F(DeviationProgramTest, APassedDeadlineGivesNoPoint) {
  DeviationProgram program({{-3, 40}}, {{{0}, -2, 2}});
  EXPECT_FALSE(program.Extreme({0}, true, absl::Now() - absl::Seconds(1)).has_value());
}

}  // namespace
}  // namespace trelink
