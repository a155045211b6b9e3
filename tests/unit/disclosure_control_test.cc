#include "common/sdc/disclosure_control.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "common/sdc/stored_release_history.h"
#include "tests/support/integer_range.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IntegerRange;
using ::trelink::testing::IsOk;
using ::trelink::testing::KnownSum;
using ::trelink::testing::Rounded;
using ::trelink::testing::StatusIs;

// Persons 0..n-1 of one generation. Each has one record whose participant
// key is its anchor; a later generation may number the same records'
// persons differently.
class FakePersons final : public PersonSpace {
 public:
  FakePersons(uint64_t generation, size_t persons, std::function<uint64_t(uint32_t)> anchor_of = nullptr)
      : generation_(generation) {
    for (uint32_t p = 0; p < persons; ++p) {
      anchors_.push_back(anchor_of ? anchor_of(p) : 1000 + p);
      person_of_[anchors_.back()] = p;
    }
  }
  uint64_t generation() const override { return generation_; }
  size_t persons() const override { return anchors_.size(); }
  uint64_t anchor(uint32_t person) const override { return anchors_[person]; }
  std::optional<uint32_t> PersonOfParticipant(uint64_t key) const override {
    auto it = person_of_.find(key);
    return it == person_of_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }

 private:
  uint64_t generation_;
  std::vector<uint64_t> anchors_;
  std::map<uint64_t, uint32_t> person_of_;
};

// Builds populations of `count` persons with ids from a running counter so
// that cells are disjoint and margins are their unions.
class TableBuilder {
 public:
  // A rows x cols table (cols == 1: one dimension) with margins.
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
        for (uint64_t n = 0; n < counts[i][j]; ++n) p.push_back(next_++);
        std::vector<int> coords = one_d ? std::vector<int>{i} : std::vector<int>{i, j};
        table.cells.push_back(Cell(coords, p));
        std::vector<std::vector<int>> margin_keys =
            one_d ? std::vector<std::vector<int>>{{-1}}
                  : std::vector<std::vector<int>>{{i, -1}, {-1, j}, {-1, -1}};
        for (const auto& key : margin_keys) margins[key].insert(margins[key].end(), p.begin(), p.end());
      }
    }
    for (auto& [coords, p] : margins) {
      std::sort(p.begin(), p.end());
      table.cells.push_back(Cell(coords, p));
    }
    return table;
  }

  TableCell Cell(std::vector<int> coords, Population population) {
    TableCell cell;
    cell.coords = std::move(coords);
    cell.population = std::move(population);
    cell.definition = "cell " + std::to_string(++cells_);
    return cell;
  }

 private:
  uint64_t next_ = 0;
  uint64_t cells_ = 0;
};

// A one-cell table: the count of `population`, defined as `definition`.
CountTableDraft Single(const Population& population, const std::string& definition) {
  CountTableDraft table;
  table.dimension_sizes = {1};
  TableCell cell;
  cell.coords = {0};
  cell.population = population;
  cell.definition = definition;
  table.cells.push_back(cell);
  return table;
}

Population Range(uint64_t from, uint64_t to) {
  Population p;
  for (uint64_t i = from; i < to; ++i) p.push_back(i);
  return p;
}

trelink::v1::DisclosurePolicy Policy() {
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("test-1");
  return policy;
}

const TableCell& At(const CountTableDraft& t, std::vector<int> coords) {
  for (const auto& c : t.cells) {
    if (c.coords == coords) return c;
  }
  ADD_FAILURE() << "no cell";
  return t.cells[0];
}

// Applies the policy and records the table, as the aggregator does.
trelink::v1::ReleaseAuditSummary Release(DisclosureControl& control, const PersonSpace& persons, CountTableDraft& table,
                                         const std::string& project = "p") {
  trelink::v1::ReleaseAuditSummary summary;
  EXPECT_THAT(control.Apply(project, persons, table, &summary), IsOk());
  EXPECT_THAT(control.Record(project, persons, table), IsOk());
  return summary;
}

TEST(DisclosurePolicyTest, DefaultsAndValidation) {
  auto policy = ValidatePolicy(Policy());
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->mode(), trelink::v1::DisclosurePolicy::SDC);
  EXPECT_EQ(policy->threshold(), 10u);
  EXPECT_EQ(policy->rounding_base(), 5u);
  EXPECT_FALSE(policy->release_zeros());
  EXPECT_TRUE(policy->group_disclosure_check());
  EXPECT_FALSE(policy->has_dp());
  trelink::v1::DisclosurePolicy bad = Policy();
  bad.clear_version();
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "policy.version"));
  bad = Policy();
  bad.set_threshold(1);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "policy.threshold"));
  bad = Policy();
  bad.set_rounding_base(20);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "rounding_base"));
  bad = Policy();
  bad.set_threshold(7);  // 7 would round to 5
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "multiple of policy.rounding_base"));
  bad = Policy();
  bad.mutable_dp()->set_budget_micro(5);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "policy.dp: set only in mode DP"));
  bad = Policy();
  bad.set_mode(trelink::v1::DisclosurePolicy::DP);
  auto dp = ValidatePolicy(bad);
  ASSERT_THAT(dp, IsOk());
  EXPECT_EQ(dp->dp().epsilon_per_query_micro(), 500000u);
  EXPECT_EQ(dp->dp().budget_micro(), 10000000u);
  EXPECT_EQ(dp->dp().max_contributions(), 1u);
  bad.mutable_dp()->set_epsilon_per_query_micro(2000000);
  bad.mutable_dp()->set_budget_micro(1000000);
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument, "epsilon_per_query_micro"));
  InMemoryReleaseHistory history;
  bad.mutable_dp()->set_budget_micro(3000000);
  EXPECT_THAT(DisclosureControl::Create(bad, history, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, "randomness"));
}

TEST(DisclosureControlTest, PrimarySuppressionRoundingAndOneSuppressedStatus) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 1000);
  TableBuilder builder;
  CountTableDraft table = builder.Build({{12}, {13}, {40}});
  Release(*control, persons, table);
  EXPECT_EQ(At(table, {0}).status, trelink::v1::ROUNDED);
  EXPECT_EQ(At(table, {0}).released, 10u);
  EXPECT_EQ(At(table, {1}).released, 15u);
  EXPECT_EQ(At(table, {2}).released, 40u);
  // The total comes from unrounded data: 65, not 10 + 15 + 40.
  EXPECT_EQ(At(table, {-1}).released, 65u);
  // Zero, small and protecting cells all look the same to the analyst; only
  // the reason (for the log) tells them apart.
  CountTableDraft mixed = builder.Build({{0}, {4}, {50}, {60}});
  Release(*control, persons, mixed);
  for (std::vector<int> coords : {std::vector<int>{0}, {1}}) {
    EXPECT_EQ(At(mixed, coords).status, trelink::v1::SUPPRESSED);
    EXPECT_EQ(At(mixed, coords).released, 0u);
  }
  EXPECT_EQ(At(mixed, {0}).reason, trelink::v1::ZERO);
  EXPECT_EQ(At(mixed, {1}).reason, trelink::v1::BELOW_THRESHOLD);
  EXPECT_EQ(At(mixed, {2}).status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(At(mixed, {2}).reason, trelink::v1::PROTECTS_ANOTHER_CELL);
  EXPECT_EQ(At(mixed, {3}).status, trelink::v1::ROUNDED);
}

// Every assignment of the suppressed interior cells consistent with what was
// released, by integer programming over the table's interior cells.
std::map<std::vector<int>, std::pair<int64_t, int64_t>> FeasibleRanges(const CountTableDraft& table, uint32_t base) {
  std::vector<std::vector<int>> interior;
  for (const auto& c : table.cells) {
    if (std::all_of(c.coords.begin(), c.coords.end(), [](int v) { return v >= 0; })) interior.push_back(c.coords);
  }
  std::vector<KnownSum> known;
  for (const auto& c : table.cells) {
    if (IsSuppressed(c.status)) continue;
    KnownSum sum;
    for (size_t u = 0; u < interior.size(); ++u) {
      bool covered = true;
      for (size_t d = 0; d < c.coords.size(); ++d) covered &= c.coords[d] == -1 || c.coords[d] == interior[u][d];
      if (covered) sum.unknowns.push_back(static_cast<int>(u));
    }
    const KnownSum rounded = Rounded({}, c.released, base);
    sum.low = rounded.low;
    sum.high = rounded.high;
    known.push_back(sum);
  }
  std::map<std::vector<int>, std::pair<int64_t, int64_t>> ranges;
  for (size_t u = 0; u < interior.size(); ++u) {
    if (!IsSuppressed(At(table, interior[u]).status)) continue;
    auto range = IntegerRange(static_cast<int>(interior.size()), known, {static_cast<int>(u)});
    if (range.has_value()) ranges[interior[u]] = *range;
  }
  return ranges;
}

TEST(DisclosureControlTest, NoSmallCellCanBeNarrowedBelowKInRandomTwoWayTables) {
  std::mt19937 rng(11);
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 2000);
  int small_cells = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 2 + static_cast<int>(rng() % 3), cols = 2 + static_cast<int>(rng() % 3);
    std::vector<std::vector<uint64_t>> counts(rows, std::vector<uint64_t>(cols));
    for (auto& row : counts) {
      for (auto& c : row) c = rng() % 3 == 0 ? 1 + rng() % 9 : 10 + rng() % 40;
    }
    TableBuilder builder;
    CountTableDraft table = builder.Build(counts);
    Release(*control, persons, table, "trial " + std::to_string(trial));
    for (const auto& [coords, range] : FeasibleRanges(table, 5)) {
      const uint64_t truth = At(table, coords).count();
      if (truth == 0 || truth >= 10) continue;
      ++small_cells;
      EXPECT_GE(range.second - range.first, 10)
          << "trial " << trial << " cell " << coords[0] << "," << coords[1] << " true " << truth << " range ["
          << range.first << "," << range.second << "]";
    }
  }
  EXPECT_GT(small_cells, 200);
}

// An a x b x c table with margins of every order over disjoint persons.
CountTableDraft ThreeWay(const std::vector<std::vector<std::vector<uint64_t>>>& counts) {
  CountTableDraft table;
  const int sizes[3] = {static_cast<int>(counts.size()), static_cast<int>(counts[0].size()),
                        static_cast<int>(counts[0][0].size())};
  table.dimension_sizes = {sizes[0], sizes[1], sizes[2]};
  std::map<std::vector<int>, Population> cells;
  uint64_t next = 0;
  for (int i = 0; i < sizes[0]; ++i) {
    for (int j = 0; j < sizes[1]; ++j) {
      for (int l = 0; l < sizes[2]; ++l) {
        const Population p = Range(next, next + counts[i][j][l]);
        next += counts[i][j][l];
        for (int mask = 0; mask < 8; ++mask) {
          std::vector<int> coords = {mask & 1 ? -1 : i, mask & 2 ? -1 : j, mask & 4 ? -1 : l};
          cells[coords].insert(cells[coords].end(), p.begin(), p.end());
        }
      }
    }
  }
  for (auto& [coords, population] : cells) {
    std::sort(population.begin(), population.end());
    TableCell cell;
    cell.coords = coords;
    cell.population = population;
    cell.definition = "3-way " + std::to_string(coords[0]) + "," + std::to_string(coords[1]) + "," +
                      std::to_string(coords[2]);
    table.cells.push_back(cell);
  }
  return table;
}

TEST(DisclosureControlTest, NoSmallCellCanBeNarrowedBelowKInThreeWayTablesWithAllMargins) {
  std::mt19937 rng(13);
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 3000);
  int small_cells = 0;
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<std::vector<std::vector<uint64_t>>> counts(3, std::vector<std::vector<uint64_t>>(2, {0, 0}));
    for (auto& plane : counts) {
      for (auto& row : plane) {
        for (auto& c : row) c = rng() % 3 == 0 ? 1 + rng() % 9 : 10 + rng() % 40;
      }
    }
    CountTableDraft table = ThreeWay(counts);
    Release(*control, persons, table, "3-way trial " + std::to_string(trial));
    for (const auto& [coords, range] : FeasibleRanges(table, 5)) {
      const uint64_t truth = At(table, coords).count();
      if (truth == 0 || truth >= 10) continue;
      ++small_cells;
      EXPECT_GE(range.second - range.first, 10) << "trial " << trial << " true " << truth;
    }
  }
  EXPECT_GT(small_cells, 20);
}

TEST(DisclosureControlTest, DifferencingAgainstEarlierReleasesIsWithheld) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 1000);
  // "All women": 500 persons. Then "all women except region X", where region
  // X holds 3 of them: subtracting would reveal those 3.
  CountTableDraft all = Single(Range(0, 500), "all");
  Release(*control, persons, all);
  ASSERT_EQ(all.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft all_but_three = Single(Range(0, 497), "all but X");
  Release(*control, persons, all_but_three);
  EXPECT_EQ(all_but_three.cells[0].status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(all_but_three.cells[0].reason, trelink::v1::RELEASE_AUDIT);
  // Differing by k or more is fine - even though the 3 are among the
  // persons that differ, rounding leaves them an interval of 10 or more;
  // so is the same question again, and another project's releases do not
  // count.
  CountTableDraft all_but_fifteen = Single(Range(0, 485), "all but Y");
  Release(*control, persons, all_but_fifteen);
  EXPECT_EQ(all_but_fifteen.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft again = Single(Range(0, 500), "all");
  Release(*control, persons, again);
  EXPECT_EQ(again.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft elsewhere = Single(Range(0, 497), "all but X");
  Release(*control, persons, elsewhere, "other-project");
  EXPECT_EQ(elsewhere.cells[0].status, trelink::v1::ROUNDED);
}

TEST(DisclosureControlTest, RelinkageDoesNotResetTheHistory) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons first(1, 600);
  CountTableDraft deaths = Single(Range(0, 500), "maternal deaths");
  Release(*control, first, deaths);
  ASSERT_EQ(deaths.cells[0].status, trelink::v1::ROUNDED);
  // Generation 2 numbers the same records' persons differently (person p
  // now holds the record person (p * 7) % 600 held).
  FakePersons second(2, 600, [](uint32_t p) { return 1000 + (uint64_t{p} * 7) % 600; });
  Population renumbered;
  for (uint32_t p = 0; p < 600; ++p) {
    if ((uint64_t{p} * 7) % 600 < 493) renumbered.push_back(p);
  }
  CountTableDraft later = Single(renumbered, "maternal deaths, all years");
  Release(*control, second, later);
  EXPECT_EQ(later.cells[0].count(), 493u);
  EXPECT_EQ(later.cells[0].status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(later.cells[0].reason, trelink::v1::RELEASE_AUDIT);
}

TEST(DisclosureControlTest, GroupDisclosureWithinATableAndAcrossQueries) {
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 1000);
  TableBuilder builder;
  // Region A: all 30 children had care involvement (yes 30, no 0).
  CountTableDraft table = builder.Build({{30, 0}, {40, 60}, {25, 35}});
  Release(*control, persons, table);
  EXPECT_EQ(At(table, {0, 0}).status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(At(table, {0, 0}).reason, trelink::v1::GROUP_DISCLOSURE);
  EXPECT_EQ(At(table, {0, 1}).status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(At(table, {1, 0}).status, trelink::v1::ROUNDED);
  // Whatever else was released, the zero must keep an interval of k.
  auto ranges = FeasibleRanges(table, 5);
  const std::vector<int> zero = {0, 1};
  ASSERT_TRUE(ranges.count(zero));
  EXPECT_GE(ranges[zero].second - ranges[zero].first, 10);

  // "Children in region B" and "children in region B with a care flag" that
  // turn out to be the same persons: released together they say everyone
  // had it. The same question asked again is no news.
  CountTableDraft cohort = Single(Range(500, 540), "region B");
  Release(*control, persons, cohort);
  EXPECT_EQ(cohort.cells[0].status, trelink::v1::ROUNDED);
  CountTableDraft flagged = Single(Range(500, 540), "region B, flag yes");
  Release(*control, persons, flagged);
  EXPECT_EQ(flagged.cells[0].status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(flagged.cells[0].reason, trelink::v1::RELEASE_AUDIT);
  CountTableDraft repeated = Single(Range(500, 540), "region B");
  Release(*control, persons, repeated);
  EXPECT_EQ(repeated.cells[0].status, trelink::v1::ROUNDED);
}

// Deprivation deciles x "care proceedings within 28 days": the 2-way table
// (Q3b) with decile 1 "yes" = 4, then many one-cell counts of births in sets
// of deciles, rounded to base 5 (each true value within +-2).
struct DecileAttack {
  std::vector<uint64_t> yes, no;  // per decile
  std::vector<Population> yes_persons, no_persons;
  DecileAttack() {
    std::mt19937 rng(5);
    uint64_t next = 0;
    for (int d = 0; d < 10; ++d) {
      yes.push_back(d == 0 ? 4 : 15 + rng() % 40);
      no.push_back(80 + rng() % 120);
      yes_persons.push_back(Range(next, next + yes.back()));
      next += yes.back();
      no_persons.push_back(Range(next, next + no.back()));
      next += no.back();
    }
  }
  // Unknowns: 2d = decile d yes, 2d+1 = decile d no.
  Population Births(uint32_t deciles) const {
    Population p;
    for (int d = 0; d < 10; ++d) {
      if (deciles & (1u << d)) {
        p.insert(p.end(), yes_persons[d].begin(), yes_persons[d].end());
        p.insert(p.end(), no_persons[d].begin(), no_persons[d].end());
      }
    }
    std::sort(p.begin(), p.end());
    return p;
  }
  static std::vector<int> Unknowns(uint32_t deciles) {
    std::vector<int> u;
    for (int d = 0; d < 10; ++d) {
      if (deciles & (1u << d)) {
        u.push_back(2 * d);
        u.push_back(2 * d + 1);
      }
    }
    return u;
  }
};


TEST(DisclosureControlTest, CombinationAttackOnASuppressedCellFails) {
  DecileAttack data;
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, 5000);
  TableBuilder builder;
  std::vector<std::vector<uint64_t>> counts;
  for (int d = 0; d < 10; ++d) counts.push_back({data.yes[d], data.no[d]});
  // Rebuild with the attack's persons so that the later counts overlap it.
  CountTableDraft q3b = builder.Build(counts);
  for (TableCell& cell : q3b.cells) {
    Population p;
    for (int d = 0; d < 10; ++d) {
      if (cell.coords[0] != -1 && cell.coords[0] != d) continue;
      if (cell.coords[1] != 1) p.insert(p.end(), data.yes_persons[d].begin(), data.yes_persons[d].end());
      if (cell.coords[1] != 0) p.insert(p.end(), data.no_persons[d].begin(), data.no_persons[d].end());
    }
    std::sort(p.begin(), p.end());
    cell.population = p;
  }
  Release(*control, persons, q3b);
  ASSERT_EQ(At(q3b, {0, 0}).status, trelink::v1::SUPPRESSED);
  std::vector<KnownSum> attacker, unprotected;
  for (const TableCell& cell : q3b.cells) {
    std::vector<int> unknowns;
    for (int d = 0; d < 10; ++d) {
      if (cell.coords[0] != -1 && cell.coords[0] != d) continue;
      if (cell.coords[1] != 1) unknowns.push_back(2 * d);
      if (cell.coords[1] != 0) unknowns.push_back(2 * d + 1);
    }
    const KnownSum truth = Rounded(unknowns, RoundToBase(cell.count(), 5));
    if (!IsSuppressed(cell.status)) attacker.push_back(Rounded(unknowns, cell.released));
    if (!IsSuppressed(cell.status) || cell.reason == trelink::v1::PROTECTS_ANOTHER_CELL) unprotected.push_back(truth);
  }
  // 105 counts of births in sets of deciles, never two differing by decile 1 alone.
  std::mt19937 rng(17);
  int released = 0;
  for (int q = 0; q < 105; ++q) {
    uint32_t deciles = 0;
    while (__builtin_popcount(deciles) < 2) deciles = static_cast<uint32_t>(rng() % 1024);
    CountTableDraft births = Single(data.Births(deciles), "births in deciles " + std::to_string(deciles));
    Release(*control, persons, births);
    const uint64_t rounded = RoundToBase(births.cells[0].count(), 5);
    unprotected.push_back(Rounded(DecileAttack::Unknowns(deciles), rounded));
    if (!IsSuppressed(births.cells[0].status)) {
      ++released;
      attacker.push_back(Rounded(DecileAttack::Unknowns(deciles), births.cells[0].released));
    }
  }
  // Without the audit the 4 would be pinned down; with it, it keeps an interval of k.
  auto naive = IntegerRange(20, unprotected, {0});
  ASSERT_TRUE(naive.has_value());
  EXPECT_LT(naive->second - naive->first, 10) << "the attack should work on unprotected releases";
  auto range = IntegerRange(20, attacker, {0});
  ASSERT_TRUE(range.has_value());
  EXPECT_GE(range->second - range->first, 10) << "[" << range->first << ", " << range->second << "]";
  EXPECT_GT(released, 20) << "the audit should not refuse everything";
}

TEST(DisclosureControlTest, RandomisedAttackerLearnsNoSmallCountWithinK) {
  // 24 groups of persons, some of them small; 120 counts of random unions of
  // groups, solved by integer programming after each release.
  std::mt19937 rng(23);
  std::vector<Population> groups;
  uint64_t next = 0;
  for (int g = 0; g < 24; ++g) {
    const uint64_t size = rng() % 4 == 0 ? 1 + rng() % 9 : 10 + rng() % 60;
    groups.push_back(Range(next, next + size));
    next += size;
  }
  InMemoryReleaseHistory history;
  auto control = *DisclosureControl::Create(Policy(), history, nullptr);
  FakePersons persons(1, next);
  std::vector<KnownSum> attacker;
  for (int q = 0; q < 120; ++q) {
    const uint32_t chosen = static_cast<uint32_t>(rng()) & 0xFFFFFFu;
    Population p;
    std::vector<int> unknowns;
    for (int g = 0; g < 24; ++g) {
      if (!(chosen & (1u << g))) continue;
      p.insert(p.end(), groups[g].begin(), groups[g].end());
      unknowns.push_back(g);
    }
    std::sort(p.begin(), p.end());
    CountTableDraft table = Single(p, "union " + std::to_string(chosen));
    Release(*control, persons, table);
    if (!IsSuppressed(table.cells[0].status)) attacker.push_back(Rounded(unknowns, table.cells[0].released));
  }
  int small = 0;
  for (int g = 0; g < 24; ++g) {
    if (groups[g].size() >= 10) continue;
    ++small;
    auto range = IntegerRange(24, attacker, {g});
    ASSERT_TRUE(range.has_value());
    EXPECT_GE(range->second - range->first, 10) << "group " << g << " of " << groups[g].size();
  }
  EXPECT_GT(small, 2);
  EXPECT_GT(attacker.size(), 30u);
}

TEST(ReleaseAuditTest, ACountAtRiskIsSolvedAgainWhenWhatPinnedItChanges) {
  // Three persons in X only, thirty in X and Y: released X (33, told as
  // 31..35) and Y (30, told as 28..32) pin "X but not Y" to within 7. The
  // audit keeps that finding while its program stays the same, and must
  // look again once Y is withheld and told with a wider interval.
  ReleaseAudit audit(10, 33, true);
  const ReleaseAudit::CellId x = audit.AddCell(Range(0, 33), "x");
  const ReleaseAudit::CellId y = audit.AddCell(Range(3, 33), "y");
  audit.Release(x, 31, 35);
  audit.Release(y, 28, 32);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  ReleaseAudit::Finding first = audit.Check(deadline);
  ASSERT_FALSE(first.timed_out);
  ASSERT_EQ(first.risks.size(), 1u);
  EXPECT_EQ(first.risks[0].interval, 7u);  // 0..7 persons
  ReleaseAudit::Finding again = audit.Check(deadline, first.risks);
  ASSERT_EQ(again.risks.size(), 1u);
  EXPECT_EQ(again.risks[0].interval, 7u);
  EXPECT_EQ(again.risks[0].source, first.risks[0].source);
  audit.Suppress(y);
  audit.Release(y, 25, 35);  // now 0..10 persons
  ReleaseAudit::Finding after = audit.Check(deadline, again.risks);
  EXPECT_FALSE(after.timed_out);
  EXPECT_TRUE(after.risks.empty());
  EXPECT_EQ(after.narrowest_safe, 10u);
}

TEST(DisclosureControlTest, DpNoiseThresholdRoundingAndContributionBound) {
  trelink::v1::DisclosurePolicy policy = Policy();
  policy.set_mode(trelink::v1::DisclosurePolicy::DP);
  policy.mutable_dp()->set_epsilon_per_query_micro(1000000);
  InMemoryReleaseHistory history;
  SeededRandom noise(SeededRandom::Seed{7});
  auto control = *DisclosureControl::Create(policy, history, &noise);
  FakePersons persons(1, 5000);
  TableBuilder builder;
  CountTableDraft table = builder.Build({{1000}, {3}, {500}});
  // Person 0 also counted in the third cell: bounded to one cell.
  for (TableCell& cell : table.cells) {
    if (cell.coords == std::vector<int>{2}) cell.population.insert(cell.population.begin(), 0);
  }
  ASSERT_THAT(control->Apply("p", persons, table, nullptr), IsOk());
  EXPECT_EQ(At(table, {2}).count(), 500u) << "person 0 is kept in its first cell only";
  EXPECT_EQ(At(table, {1}).status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(At(table, {1}).reason, trelink::v1::NOISY_BELOW_THRESHOLD);
  for (std::vector<int> coords : {std::vector<int>{0}, {2}, {-1}}) {
    const TableCell& cell = At(table, coords);
    EXPECT_EQ(cell.status, trelink::v1::ROUNDED);
    EXPECT_EQ(cell.released % 5, 0u);
  }
  // Scale 1: the noise is within +-20 with overwhelming probability.
  EXPECT_NEAR(static_cast<double>(At(table, {0}).released), 1000, 25);
  EXPECT_NEAR(static_cast<double>(At(table, {-1}).released), 1503, 45);
  // Noise, not rounding alone: over many tables the released counts differ.
  std::set<uint64_t> seen;
  for (int i = 0; i < 20; ++i) {
    CountTableDraft again = TableBuilder().Build({{1000}});
    ASSERT_THAT(control->Apply("p", persons, again, nullptr), IsOk());
    seen.insert(At(again, {0}).released);
  }
  EXPECT_GT(seen.size(), 1u);
}

TEST(StoredReleaseHistoryTest, TablesSurviveARestartWhole) {
  const std::string path = ::trelink::testing::MakeTempDir() + "/releases.db";
  RecordedTable table;
  table.push_back({{7, 9, 11}, true, 8, 12, "a"});
  table.push_back({{}, false, 0, 0, "b"});
  {
    auto history = StoredReleaseHistory::Open(path);
    ASSERT_THAT(history, IsOk());
    ASSERT_THAT((*history)->Record("p", table), IsOk());
    ASSERT_THAT((*history)->Record("q", table), IsOk());
  }
  auto reopened = StoredReleaseHistory::Open(path);
  ASSERT_THAT(reopened, IsOk());
  auto tables = (*reopened)->Tables("p");
  ASSERT_THAT(tables, IsOk());
  ASSERT_EQ(tables->size(), 1u);
  ASSERT_EQ((*tables)[0].size(), 2u);
  EXPECT_EQ((*tables)[0][0].anchors, (std::vector<uint64_t>{7, 9, 11}));
  EXPECT_TRUE((*tables)[0][0].released);
  EXPECT_EQ((*tables)[0][0].low, 8u);
  EXPECT_EQ((*tables)[0][0].high, 12u);
  EXPECT_EQ((*tables)[0][0].definition, "a");
  EXPECT_TRUE((*tables)[0][1].anchors.empty());
  EXPECT_FALSE((*tables)[0][1].released);
  EXPECT_EQ(*(*reopened)->TableCount(), 2);
}

TEST(StoredReleaseHistoryTest, AWithheldZeroStaysProtectedAfterARestart) {
  const std::string path = ::trelink::testing::MakeTempDir() + "/releases.db";
  FakePersons persons(1, 1000);
  TableBuilder builder;
  // A = 0 (withheld), B = 50, C = 60, total 110. Releasing B on its own
  // later would give A = 110 - 50 - 60 within rounding: pinned to zero.
  CountTableDraft first = builder.Build({{0}, {50}, {60}});
  {
    auto history = StoredReleaseHistory::Open(path);
    ASSERT_THAT(history, IsOk());
    auto control = *DisclosureControl::Create(Policy(), **history, nullptr);
    Release(*control, persons, first);
    ASSERT_EQ(At(first, {0}).reason, trelink::v1::ZERO);
    ASSERT_EQ(At(first, {2}).status, trelink::v1::ROUNDED);
    ASSERT_EQ(At(first, {-1}).status, trelink::v1::ROUNDED);
  }
  auto history = StoredReleaseHistory::Open(path);
  ASSERT_THAT(history, IsOk());
  auto tables = (*history)->Tables("p");
  ASSERT_THAT(tables, IsOk());
  EXPECT_EQ((*tables)[0][0].covering, std::vector<uint32_t>{3}) << "the total adds the zero up";
  auto control = *DisclosureControl::Create(Policy(), **history, nullptr);
  CountTableDraft b_alone = Single(At(first, {1}).population, "B on its own");
  Release(*control, persons, b_alone);
  EXPECT_EQ(b_alone.cells[0].status, trelink::v1::SUPPRESSED);
  EXPECT_EQ(b_alone.cells[0].reason, trelink::v1::RELEASE_AUDIT);
}

TEST(StoredReleaseHistoryTest, TheAuditSeesEarlierReleasesAfterARestart) {
  const std::string path = ::trelink::testing::MakeTempDir() + "/releases.db";
  FakePersons persons(1, 1000);
  {
    auto history = StoredReleaseHistory::Open(path);
    ASSERT_THAT(history, IsOk());
    auto control = *DisclosureControl::Create(Policy(), **history, nullptr);
    CountTableDraft all = Single(Range(0, 300), "all");
    Release(*control, persons, all);
    ASSERT_EQ(all.cells[0].status, trelink::v1::ROUNDED);
  }
  auto history = StoredReleaseHistory::Open(path);
  ASSERT_THAT(history, IsOk());
  auto control = *DisclosureControl::Create(Policy(), **history, nullptr);
  CountTableDraft all_but_two = Single(Range(0, 298), "all but two");
  Release(*control, persons, all_but_two);
  EXPECT_EQ(all_but_two.cells[0].status, trelink::v1::SUPPRESSED);
}

}  // namespace
}  // namespace trelink
