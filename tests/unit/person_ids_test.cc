// Stable person ids across linkage generations: which person keeps its id
// when clusters stay, grow, merge and split; fresh ids that never reuse an
// id, even from a source that repeats them; the same answer every time.
#include "common/linkage/person_ids.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <vector>

namespace trelink {

void PrintTo(const LineageEvent& e, std::ostream* os) {
  *os << "{" << e.person_id << " " << LineageKindName(e.kind) << " " << e.other_person_id << "}";
}
void PrintTo(const PersonAssignment& a, std::ostream* os) { *os << a.participant_id << "->" << a.person_id; }

namespace {

using ::testing::ElementsAre;

// Participant ids in new clusters, one list per cluster.
std::vector<ClusteredParticipant> Clusters(const std::vector<std::vector<int64_t>>& clusters) {
  std::vector<ClusteredParticipant> clustering;
  for (uint32_t c = 0; c < clusters.size(); ++c) {
    for (int64_t participant : clusters[c]) clustering.push_back({participant, c});
  }
  return clustering;
}

// The previous generation: each person id with its participants.
std::vector<PersonAssignment> Previous(const std::map<uint64_t, std::vector<int64_t>>& persons) {
  std::vector<PersonAssignment> previous;
  for (const auto& [person, participants] : persons) {
    for (int64_t participant : participants) previous.push_back({participant, person});
  }
  return previous;
}

// A random source that plays `ids` in turn, then counts up from 1000.
class ScriptedIds {
 public:
  explicit ScriptedIds(std::vector<uint64_t> ids) : ids_(ids.begin(), ids.end()) {}
  uint64_t operator()() {
    ++draws_;
    if (ids_.empty()) return next_++;
    const uint64_t id = ids_.front();
    ids_.pop_front();
    return id;
  }
  int draws() const { return draws_; }

 private:
  std::deque<uint64_t> ids_;
  uint64_t next_ = 1000;
  int draws_ = 0;
};

// The person id each participant was given.
std::map<int64_t, uint64_t> PersonOf(const PersonIds& ids) {
  std::map<int64_t, uint64_t> person_of;
  for (const PersonAssignment& a : ids.assignments) person_of[a.participant_id] = a.person_id;
  return person_of;
}

std::function<uint64_t()> NeverCalled() {
  return []() -> uint64_t {
    ADD_FAILURE() << "a fresh id was drawn";
    return 1;
  };
}

TEST(PersonIdsTest, FirstGenerationGivesEveryClusterAFreshId) {
  ScriptedIds source({});
  const PersonIds ids = AssignPersonIds(Clusters({{1, 2}, {3}}), {}, std::ref(source));
  EXPECT_THAT(ids.assignments, ElementsAre(PersonAssignment{1, 1000}, PersonAssignment{2, 1000},
                                           PersonAssignment{3, 1001}));
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{1000, LineageKind::kNew}, LineageEvent{1001, LineageKind::kNew}));
  EXPECT_EQ(ids.counts.new_persons, 2u);
}

TEST(PersonIdsTest, UnchangedClusteringKeepsEveryId) {
  const PersonIds ids =
      AssignPersonIds(Clusters({{4, 5}, {1, 2, 3}}), Previous({{200, {4, 5}}, {100, {1, 2, 3}}}), NeverCalled());
  EXPECT_THAT(PersonOf(ids), (std::map<int64_t, uint64_t>{{1, 100}, {2, 100}, {3, 100}, {4, 200}, {5, 200}}));
  // In the order of each cluster's first participant, whatever the labels.
  EXPECT_THAT(ids.lineage,
              ElementsAre(LineageEvent{100, LineageKind::kKept}, LineageEvent{200, LineageKind::kKept}));
  EXPECT_EQ(ids.counts.kept, 2u);
  EXPECT_EQ(ids.counts.new_persons + ids.counts.merged + ids.counts.split, 0u);
}

TEST(PersonIdsTest, NewParticipantJoiningAPersonKeepsItsId) {
  const PersonIds ids =
      AssignPersonIds(Clusters({{1, 2, 3, 6}, {4, 5}}), Previous({{100, {1, 2, 3}}, {200, {4, 5}}}), NeverCalled());
  EXPECT_EQ(PersonOf(ids)[6], 100u);
  EXPECT_THAT(ids.lineage,
              ElementsAre(LineageEvent{100, LineageKind::kKept}, LineageEvent{200, LineageKind::kKept}));
}

TEST(PersonIdsTest, TwoPersonsMergedTheLargerKeepsItsId) {
  const PersonIds ids =
      AssignPersonIds(Clusters({{1, 2, 3, 4, 5}}), Previous({{100, {1, 2}}, {200, {3, 4, 5}}}), NeverCalled());
  for (const auto& [participant, person] : PersonOf(ids)) EXPECT_EQ(person, 200u) << participant;
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{200, LineageKind::kKept},
                                       LineageEvent{100, LineageKind::kMerged, 200}));
  EXPECT_EQ(ids.counts.kept, 1u);
  EXPECT_EQ(ids.counts.merged, 1u);
}

TEST(PersonIdsTest, MergeOfEqualPersonsKeepsTheOneWithTheEarliestParticipant) {
  const PersonIds ids =
      AssignPersonIds(Clusters({{1, 2, 3, 4}}), Previous({{100, {2, 4}}, {200, {1, 3}}}), NeverCalled());
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{200, LineageKind::kKept},
                                       LineageEvent{100, LineageKind::kMerged, 200}));
}

TEST(PersonIdsTest, SplitPersonSuccessorKeepsTheIdTheOtherPartIsFresh) {
  ScriptedIds source({});
  const PersonIds ids =
      AssignPersonIds(Clusters({{1, 2}, {3, 4, 5}}), Previous({{100, {1, 2, 3, 4, 5}}}), std::ref(source));
  EXPECT_THAT(PersonOf(ids), (std::map<int64_t, uint64_t>{{1, 1000}, {2, 1000}, {3, 100}, {4, 100}, {5, 100}}));
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{1000, LineageKind::kSplit, 100},
                                       LineageEvent{100, LineageKind::kKept}));
  EXPECT_EQ(ids.counts.kept, 1u);
  EXPECT_EQ(ids.counts.split, 1u);
}

TEST(PersonIdsTest, EvenSplitKeepsTheIdInTheClusterWithTheEarliestParticipant) {
  ScriptedIds source({});
  const PersonIds ids = AssignPersonIds(Clusters({{3, 4}, {1, 2}}), Previous({{100, {1, 2, 3, 4}}}), std::ref(source));
  EXPECT_THAT(PersonOf(ids), (std::map<int64_t, uint64_t>{{1, 100}, {2, 100}, {3, 1000}, {4, 1000}}));
}

// Two persons each split three ways: their middle parts join into a cluster
// that is neither one's successor.
TEST(PersonIdsTest, ClusterOfLeftoversSplitsFromThePersonWithTheEarliestParticipantInIt) {
  ScriptedIds source({});
  const PersonIds ids = AssignPersonIds(Clusters({{1, 2}, {3, 4}, {5, 6}}),
                                        Previous({{100, {1, 2, 3}}, {200, {4, 5, 6}}}), std::ref(source));
  EXPECT_THAT(ids.lineage,
              ElementsAre(LineageEvent{100, LineageKind::kKept}, LineageEvent{1000, LineageKind::kSplit, 100},
                          LineageEvent{200, LineageKind::kKept}));
}

TEST(PersonIdsTest, FreshIdsAvoidPreviousIdsEvenWhenTheSourceRepeatsThem) {
  // The source offers a previous id, zero, a previous id with the 64th bit
  // set, then one id twice.
  ScriptedIds source({100, 0, 200 | (1ull << 63), 7, 7, 9});
  const PersonIds ids =
      AssignPersonIds(Clusters({{1}, {2}, {3}, {4}}), Previous({{100, {1}}, {200, {2}}}), std::ref(source));
  EXPECT_THAT(PersonOf(ids), (std::map<int64_t, uint64_t>{{1, 100}, {2, 200}, {3, 7}, {4, 9}}));
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{100, LineageKind::kKept}, LineageEvent{200, LineageKind::kKept},
                                       LineageEvent{7, LineageKind::kNew}, LineageEvent{9, LineageKind::kNew}));
  EXPECT_EQ(source.draws(), 6);
}

TEST(PersonIdsTest, FreshIdsFitSixtyThreeBits) {
  ScriptedIds source({~0ull});
  const PersonIds ids = AssignPersonIds(Clusters({{1}}), {}, std::ref(source));
  EXPECT_EQ(ids.assignments[0].person_id, ~0ull >> 1);
}

// A random previous generation and a random re-clustering of it plus new
// participants, with every kind of lineage.
struct Scenario {
  std::vector<ClusteredParticipant> clustering;
  std::vector<PersonAssignment> previous;
};

Scenario RandomScenario(uint32_t seed) {
  std::mt19937_64 random(seed);
  Scenario s;
  for (int64_t participant = 1; participant <= 2000; ++participant) {
    if (participant <= 1500) s.previous.push_back({participant, 1 + random() % 400});
    s.clustering.push_back({participant, static_cast<uint32_t>(random() % 500)});
  }
  return s;
}

TEST(PersonIdsTest, SameInputsGiveTheSameIdsAndLineageInAnyOrder) {
  Scenario s = RandomScenario(7);
  std::mt19937_64 first_source(1), second_source(1);
  const PersonIds first = AssignPersonIds(s.clustering, s.previous, std::ref(first_source));
  std::shuffle(s.clustering.begin(), s.clustering.end(), std::mt19937(3));
  std::shuffle(s.previous.begin(), s.previous.end(), std::mt19937(4));
  const PersonIds second = AssignPersonIds(s.clustering, s.previous, std::ref(second_source));
  EXPECT_EQ(PersonOf(first), PersonOf(second));
  EXPECT_EQ(first.lineage, second.lineage);
  EXPECT_GT(first.counts.kept, 0u);
  EXPECT_GT(first.counts.new_persons, 0u);
  EXPECT_GT(first.counts.merged, 0u);
  EXPECT_GT(first.counts.split, 0u);
}

TEST(PersonIdsTest, EveryIdIsUniqueAndEveryPreviousPersonIsAccountedFor) {
  const Scenario s = RandomScenario(11);
  std::mt19937_64 source(2);
  const PersonIds ids = AssignPersonIds(s.clustering, s.previous, std::ref(source));
  std::set<uint64_t> persons, previous_persons, kept_or_merged;
  std::set<uint32_t> clusters;
  for (const ClusteredParticipant& p : s.clustering) clusters.insert(p.cluster);
  for (const PersonAssignment& a : ids.assignments) {
    EXPECT_GT(a.person_id, 0u);
    EXPECT_LT(a.person_id, 1ull << 63);
    persons.insert(a.person_id);
  }
  EXPECT_EQ(persons.size(), clusters.size()) << "one id per cluster";
  for (const PersonAssignment& a : s.previous) previous_persons.insert(a.person_id);
  std::set<uint64_t> lined;
  for (const LineageEvent& e : ids.lineage) {
    EXPECT_TRUE(lined.insert(e.person_id).second) << "two lines for " << e.person_id;
    const bool was_previous = previous_persons.count(e.person_id) > 0;
    EXPECT_EQ(was_previous,
              e.kind == LineageKind::kKept || e.kind == LineageKind::kMerged || e.kind == LineageKind::kLeft)
        << e.person_id;
    if (e.kind == LineageKind::kMerged) {
      EXPECT_TRUE(persons.count(e.other_person_id)) << e.person_id << " merged into no person";
    }
    if (e.kind == LineageKind::kSplit) {
      EXPECT_TRUE(previous_persons.count(e.other_person_id)) << e.person_id << " split from no previous person";
    }
    if (was_previous) kept_or_merged.insert(e.person_id);
  }
  EXPECT_EQ(kept_or_merged, previous_persons);
  EXPECT_EQ(ids.counts.kept + ids.counts.new_persons + ids.counts.split, persons.size());
  EXPECT_EQ(ids.counts.kept + ids.counts.merged + ids.counts.left, previous_persons.size());
}

// Withdrawn or opted out: a previous person none of whose participants is
// linked now leaves, and its id is not given to anyone.
TEST(PersonIdsTest, APersonWithNoParticipantLinkedNowLeaves) {
  const PersonIds ids =
      AssignPersonIds(Clusters({{1, 2}}), Previous({{100, {1, 2}}, {200, {3, 4}}}), NeverCalled());
  EXPECT_THAT(ids.lineage, ElementsAre(LineageEvent{100, LineageKind::kKept}, LineageEvent{200, LineageKind::kLeft}));
  EXPECT_EQ(ids.counts.left, 1u);
  EXPECT_EQ(PersonOf(ids), (std::map<int64_t, uint64_t>{{1, 100}, {2, 100}}));
}

}  // namespace
}  // namespace trelink
