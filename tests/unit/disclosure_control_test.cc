#include "common/sdc/disclosure_control.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;
using trelink::v1::CellStatus;

// Builds populations of `count` persons with ids from a running counter so
// that cells are disjoint and margins are their unions.
class TableBuilder {
 public:
  // A rows x cols table (cols == 0: one dimension) with margins.
  CountTableDraft Build(const std::vector<std::vector<uint64_t>>& counts) {
    CountTableDraft table;
    const int rows = static_cast<int>(counts.size());
    const int cols = static_cast<int>(counts[0].size());
    const bool one_d = cols == 1;
    table.dimension_sizes = one_d ? std::vector<int>{rows} : std::vector<int>{rows, cols};
    std::map<std::vector<int>, Population> margins;
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        Population p;
        for (uint64_t n = 0; n < counts[i][j]; ++n) p.push_back(++next_);
        std::vector<int> coords = one_d ? std::vector<int>{i} : std::vector<int>{i, j};
        table.cells.push_back({coords, p});
        std::vector<std::vector<int>> margin_keys =
            one_d ? std::vector<std::vector<int>>{{-1}}
                  : std::vector<std::vector<int>>{{i, -1}, {-1, j}, {-1, -1}};
        for (const auto& key : margin_keys) margins[key].insert(margins[key].end(), p.begin(), p.end());
      }
    }
    for (auto& [coords, p] : margins) {
      std::sort(p.begin(), p.end());
      table.cells.push_back({coords, p});
    }
    return table;
  }

 private:
  uint64_t next_ = 0;
};

trelink::v1::DisclosurePolicy Policy(bool differencing = true) {
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("test-1");
  policy.set_differencing_check(differencing);
  return policy;
}

const TableCell& At(const CountTableDraft& t, std::vector<int> coords) {
  for (const auto& c : t.cells) {
    if (c.coords == coords) return c;
  }
  ADD_FAILURE() << "no cell";
  return t.cells[0];
}

TEST(DisclosurePolicyTest, DefaultsAndValidation) {
  auto policy = ValidatePolicy(Policy());
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->threshold(), 10u);
  EXPECT_EQ(policy->rounding_base(), 5u);
  EXPECT_FALSE(policy->release_zeros());
  trelink::v1::DisclosurePolicy bad = Policy();
  bad.clear_version();
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "policy.version"));
  bad = Policy();
  bad.set_threshold(1);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "policy.threshold"));
  bad = Policy();
  bad.set_rounding_base(20);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "rounding_base"));
}

TEST(DisclosureControlTest, PrimarySuppressionRoundingAndZeros) {
  InMemoryReleaseHistory history;
  auto control = DisclosureControl::Create(Policy(false), history);
  ASSERT_THAT(control, IsOk());
  TableBuilder builder;
  CountTableDraft table = builder.Build({{12}, {13}, {40}});
  (*control)->Apply("p", table);
  EXPECT_EQ(At(table, {0}).status, trelink::v1::ROUNDED);
  EXPECT_EQ(At(table, {0}).released, 10u);
  EXPECT_EQ(At(table, {1}).released, 15u);
  EXPECT_EQ(At(table, {2}).released, 40u);
  // The total comes from unrounded data: 65, not 10 + 15 + 40.
  EXPECT_EQ(At(table, {-1}).released, 65u);
  // A zero the policy does not release is protected like any suppressed cell.
  CountTableDraft with_zero = builder.Build({{0}, {50}, {60}});
  (*control)->Apply("p", with_zero);
  EXPECT_EQ(At(with_zero, {0}).status, trelink::v1::SUPPRESSED_ZERO);
  EXPECT_EQ(At(with_zero, {1}).status, trelink::v1::SUPPRESSED_SECONDARY);
  EXPECT_EQ(At(with_zero, {2}).status, trelink::v1::ROUNDED);
  for (uint64_t small = 1; small < 10; ++small) {
    CountTableDraft t = builder.Build({{small}, {50}, {60}});
    (*control)->Apply("p", t);
    EXPECT_EQ(At(t, {0}).status, trelink::v1::SUPPRESSED_PRIMARY) << small;
    EXPECT_EQ(At(t, {0}).released, 0u);
  }
  trelink::v1::DisclosurePolicy zeros = Policy(false);
  zeros.set_release_zeros(true);
  auto releasing = DisclosureControl::Create(zeros, history);
  CountTableDraft z = builder.Build({{0}, {50}});
  (*releasing)->Apply("p", z);
  EXPECT_EQ(At(z, {0}).status, trelink::v1::ROUNDED);
  EXPECT_EQ(At(z, {0}).released, 0u);
}

TEST(DisclosureControlTest, OneSuppressedCellInALineGetsAPartner) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(false), history);
  TableBuilder builder;
  CountTableDraft table = builder.Build({{3}, {25}, {40}, {12}});
  control->Apply("p", table);
  EXPECT_EQ(At(table, {0}).status, trelink::v1::SUPPRESSED_PRIMARY);
  // 3 + 12 >= 10: the smallest partner that protects the cell.
  EXPECT_EQ(At(table, {3}).status, trelink::v1::SUPPRESSED_SECONDARY);
  EXPECT_EQ(At(table, {1}).status, trelink::v1::ROUNDED);
  EXPECT_EQ(At(table, {-1}).status, trelink::v1::ROUNDED);
}

// Every assignment of the suppressed interior cells consistent with what was
// released (exact released margins: the worst case), by depth-first search
// over row and column residuals; records each unknown's feasible range.
void FeasibleRanges(const CountTableDraft& table, int rows, int cols,
                    std::map<std::vector<int>, std::pair<uint64_t, uint64_t>>& ranges) {
  const int64_t kFree = 1 << 20;  // a margin that was suppressed constrains nothing
  auto released_margin = [&](std::vector<int> coords) -> int64_t {
    const TableCell& m = At(table, coords);
    return IsSuppressed(m.status) ? kFree : static_cast<int64_t>(m.count());
  };
  std::vector<int64_t> row_residual(rows), col_residual(cols);
  for (int i = 0; i < rows; ++i) row_residual[i] = released_margin({i, -1});
  for (int j = 0; j < cols; ++j) col_residual[j] = released_margin({-1, j});
  int64_t grand_residual = released_margin({-1, -1});
  std::vector<std::vector<int>> unknown;
  for (const auto& c : table.cells) {
    if (c.coords[0] < 0 || c.coords[1] < 0) continue;
    if (IsSuppressed(c.status)) {
      unknown.push_back(c.coords);
    } else {
      const int64_t v = static_cast<int64_t>(c.count());
      row_residual[c.coords[0]] -= v;
      col_residual[c.coords[1]] -= v;
      grand_residual -= v;
    }
  }
  // Suppressed margins still equal the sum of their line; check the lines
  // with released margins only, at the end.
  std::vector<uint64_t> value(unknown.size());
  std::function<void(size_t)> search = [&](size_t n) {
    if (n == unknown.size()) {
      for (int i = 0; i < rows; ++i) {
        if (row_residual[i] != 0 && row_residual[i] < kFree / 2) return;
      }
      for (int j = 0; j < cols; ++j) {
        if (col_residual[j] != 0 && col_residual[j] < kFree / 2) return;
      }
      if (grand_residual != 0 && grand_residual < kFree / 2) return;
      for (size_t u = 0; u < unknown.size(); ++u) {
        auto& r = ranges[unknown[u]];
        r.first = std::min<uint64_t>(r.first, value[u]);
        r.second = std::max<uint64_t>(r.second, value[u]);
      }
      return;
    }
    const int i = unknown[n][0], j = unknown[n][1];
    const int64_t bound = std::min({row_residual[i], col_residual[j], grand_residual, int64_t{200}});
    // The last unknown of a column with a released margin is determined.
    bool last_in_column = col_residual[j] < kFree / 2;
    for (size_t later = n + 1; later < unknown.size(); ++later) last_in_column &= unknown[later][1] != j;
    const int64_t low = last_in_column ? col_residual[j] : 0;
    for (int64_t v = low; v <= bound; ++v) {
      value[n] = static_cast<uint64_t>(v);
      row_residual[i] -= v;
      col_residual[j] -= v;
      grand_residual -= v;
      search(n + 1);
      row_residual[i] += v;
      col_residual[j] += v;
      grand_residual += v;
    }
  };
  for (const auto& u : unknown) ranges[u] = {UINT64_MAX, 0};
  search(0);
}

TEST(DisclosureControlTest, NoSuppressedCellCanBeNarrowedBelowKInRandomTwoWayTables) {
  std::mt19937 rng(11);
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(false), history);
  TableBuilder builder;
  int tables_with_suppression = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 2 + static_cast<int>(rng() % 2), cols = 2 + static_cast<int>(rng() % 2);
    std::vector<std::vector<uint64_t>> counts(rows, std::vector<uint64_t>(cols));
    for (auto& row : counts) {
      for (auto& c : row) c = rng() % 3 == 0 ? rng() % 10 : 10 + rng() % 15;
    }
    CountTableDraft table = builder.Build(counts);
    control->Apply("p", table);
    std::map<std::vector<int>, std::pair<uint64_t, uint64_t>> ranges;
    FeasibleRanges(table, rows, cols, ranges);
    if (!ranges.empty()) ++tables_with_suppression;
    for (const auto& [coords, range] : ranges) {
      EXPECT_GE(range.second - range.first, 10u)
          << "trial " << trial << " cell " << coords[0] << "," << coords[1] << " true "
          << At(table, coords).count() << " range [" << range.first << "," << range.second << "]";
    }
  }
  EXPECT_GT(tables_with_suppression, 100);
}

TEST(DisclosureControlTest, ClassicDifferencingAttackIsBlocked) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(true), history);
  // "All women": 500 persons. Then "all women except region X", where region
  // X holds 3 of them: subtracting would reveal those 3.
  Population all;
  for (uint64_t i = 1; i <= 500; ++i) all.push_back(i);
  CountTableDraft first{{1}, {{{0}, all}}};
  control->Apply("p", first);
  ASSERT_EQ(first.cells[0].status, trelink::v1::ROUNDED);
  ASSERT_TRUE(control->RecordReleased("p", first).ok());

  Population all_but_three(all.begin(), all.end() - 3);
  CountTableDraft second{{1}, {{{0}, all_but_three}}};
  control->Apply("p", second);
  EXPECT_EQ(second.cells[0].status, trelink::v1::SUPPRESSED_DIFFERENCING);
  EXPECT_EQ(second.cells[0].released, 0u);

  // Differing by k or more is fine; so is the same population again, and
  // another project's releases do not count.
  Population all_but_ten(all.begin(), all.end() - 10);
  CountTableDraft third{{1}, {{{0}, all_but_ten}}};
  control->Apply("p", third);
  EXPECT_EQ(third.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft again{{1}, {{{0}, all}}};
  control->Apply("p", again);
  EXPECT_EQ(again.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft elsewhere{{1}, {{{0}, all_but_three}}};
  control->Apply("other-project", elsewhere);
  EXPECT_EQ(elsewhere.cells[0].status, trelink::v1::ROUNDED);
}

TEST(ReleaseHistoryTest, SymmetricDifference) {
  EXPECT_EQ(SymmetricDifference({1, 2, 3}, {1, 2, 3}, 100), 0u);
  EXPECT_EQ(SymmetricDifference({1, 2, 3}, {2, 3, 4}, 100), 2u);
  EXPECT_EQ(SymmetricDifference({}, {2, 3, 4}, 100), 3u);
}

}  // namespace
}  // namespace trelink

#include "common/sdc/stored_release_history.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

TEST(StoredReleaseHistoryTest, DifferencingSurvivesARestart) {
  const std::string path = ::trelink::testing::MakeTempDir() + "/releases.db";
  Population all;
  for (uint64_t i = 1; i <= 300; ++i) all.push_back(i * 7919);
  {
    auto history = StoredReleaseHistory::Open(path);
    ASSERT_TRUE(history.ok());
    ASSERT_TRUE((*history)->Record("p", {&all}).ok());
    ASSERT_TRUE((*history)->Record("p", {&all, &all}).ok());  // a repeat is stored once
    EXPECT_EQ((*history)->size(), 1u);
  }
  auto reopened = StoredReleaseHistory::Open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->size(), 1u);
  Population all_but_two(all.begin(), all.end() - 2);
  EXPECT_TRUE((*reopened)->Differs("p", all_but_two, 10));
  EXPECT_FALSE((*reopened)->Differs("p", all, 10));
  EXPECT_FALSE((*reopened)->Differs("q", all_but_two, 10));
}

}  // namespace
}  // namespace trelink
