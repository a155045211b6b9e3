// Stable person ids through the real store and linkage run: a project is
// linked, a new batch brings new mothers and new records of known ones, and
// the project is linked again. Persons keep their ids, new ones get fresh
// ids, and the lineage is in the store and (disclosure-controlled) in the
// report.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "common/linkage/batch_ingest.h"
#include "common/linkage/linkage_run.h"
#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/store/sqlite_linked_store.h"
#include "tests/support/linkage_fixture.h"
#include "tests/support/sample_batches.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using trelink::v1::LinkageReport;

// Mothers numbered from..to-1 (see MothersBatch).
std::vector<int> Mothers(int from, int to) {
  std::vector<int> mothers;
  for (int m = from; m < to; ++m) mothers.push_back(m);
  return mothers;
}

class StablePersonIdsTest : public ::trelink::testing::LinkageFixture {
 protected:
  // Stores a batch with a record of each of `mothers`.
  void Ingest(const std::string& batch_id, const std::vector<int>& mothers) {
    IngestBirths(::trelink::testing::MothersBatch(batch_id, mothers));
    mother_of_participant_.insert(mother_of_participant_.end(), mothers.begin(), mothers.end());
  }

  // The person of every mother in the latest generation; all her records
  // must be one person.
  std::map<int, uint64_t> PersonOfMother() {
    auto assignments = store_->LatestAssignments("demo");
    EXPECT_THAT(assignments, IsOk());
    EXPECT_EQ(assignments->size(), mother_of_participant_.size());
    std::map<int, uint64_t> person_of;
    // Participants are numbered in the order they were stored.
    for (size_t i = 0; i < assignments->size() && i < mother_of_participant_.size(); ++i) {
      auto [it, first] = person_of.emplace(mother_of_participant_[i], (*assignments)[i].person_id);
      EXPECT_EQ(it->second, (*assignments)[i].person_id) << "mother " << it->first << " is two persons";
    }
    return person_of;
  }

  // The persons of a generation's lineage rows of `kind`, and (for the
  // checks of `other`) whether any row of it names another person.
  std::set<uint64_t> LineagePersons(uint64_t generation, const std::string& kind, bool* names_other = nullptr) {
    auto db = SqliteDb::Open(path_);
    EXPECT_THAT(db, IsOk());
    auto query = (*db)->Prepare("SELECT person, other FROM person_lineage WHERE project='demo' AND generation=? "
                                "AND kind=?");
    EXPECT_THAT(query, IsOk());
    query->Bind(1, static_cast<int64_t>(generation)).Bind(2, kind);
    std::set<uint64_t> persons;
    while (*query->Step()) {
      persons.insert(static_cast<uint64_t>(query->Int(0)));
      if (names_other != nullptr && !query->IsNull(1)) *names_other = true;
    }
    return persons;
  }

  // Records the aggregator sees in `generation`.
  uint64_t Events(uint64_t generation) {
    uint64_t events = 0;
    EXPECT_THAT(store_->ForEachEvent("demo", generation, [&](const EventRow&) { ++events; }), IsOk());
    return events;
  }

  static std::set<uint64_t> PersonsOf(const std::map<int, uint64_t>& person_of, int from, int to) {
    std::set<uint64_t> persons;
    for (int m = from; m < to; ++m) persons.insert(person_of.at(m));
    return persons;
  }

  std::vector<int> mother_of_participant_;  // in store order
};

// The report's lineage counts (kept, new, merged, split); -1 for a suppressed one.
std::vector<int64_t> LineageCounts(const LinkageReport& report) {
  std::vector<int64_t> counts;
  for (const auto& c : {report.lineage().kept(), report.lineage().new_persons(), report.lineage().merged(),
                        report.lineage().split()}) {
    counts.push_back(c.suppressed() ? -1 : static_cast<int64_t>(c.value()));
  }
  return counts;
}

TEST_F(StablePersonIdsTest, PersonsKeepTheirIdsWhenANewBatchArrives) {
  std::vector<int> first = Mothers(0, 12);
  first.insert(first.end(), {0, 1});  // two mothers with two records already
  Ingest("m-1", first);
  const LinkageReport one = Link();
  EXPECT_EQ(one.persons().value(), 12u);
  EXPECT_EQ(LineageCounts(one), (std::vector<int64_t>{0, 12, 0, 0}));
  const std::map<int, uint64_t> before = PersonOfMother();
  EXPECT_EQ(LineagePersons(one.generation(), "new"), PersonsOf(before, 0, 12));

  // New records of mothers 0-2 and ten new mothers.
  std::vector<int> second = {0, 1, 2};
  for (int m : Mothers(12, 22)) second.push_back(m);
  Ingest("m-2", second);
  const LinkageReport two = Link();
  EXPECT_EQ(two.generation(), one.generation() + 1);
  EXPECT_EQ(two.persons().value(), 22u);
  EXPECT_EQ(LineageCounts(two), (std::vector<int64_t>{12, 10, 0, 0}));
  const std::map<int, uint64_t> after = PersonOfMother();
  for (int m = 0; m < 12; ++m) EXPECT_EQ(after.at(m), before.at(m)) << "mother " << m;
  const std::set<uint64_t> fresh = PersonsOf(after, 12, 22);
  EXPECT_EQ(fresh.size(), 10u);
  for (uint64_t person : fresh) EXPECT_EQ(PersonsOf(before, 0, 12).count(person), 0u) << person;

  bool names_other = false;
  // Kept persons are counted in the report, not listed: their ids say it.
  EXPECT_TRUE(LineagePersons(two.generation(), "kept", &names_other).empty());
  EXPECT_EQ(LineagePersons(two.generation(), "new", &names_other), fresh);
  EXPECT_FALSE(names_other);
  EXPECT_TRUE(LineagePersons(two.generation(), "merged").empty());
  EXPECT_TRUE(LineagePersons(two.generation(), "split").empty());
}

TEST_F(StablePersonIdsTest, SmallLineageCountsAreSuppressedInTheReportButStored) {
  Ingest("m-1", Mothers(0, 12));
  Link();
  Ingest("m-2", Mothers(12, 15));  // three new mothers: below the threshold of 10
  const LinkageReport two = Link();
  EXPECT_EQ(LineageCounts(two), (std::vector<int64_t>{12, -1, 0, 0}));
  EXPECT_EQ(LineagePersons(two.generation(), "new"), PersonsOf(PersonOfMother(), 12, 15));
}

TEST_F(StablePersonIdsTest, AStoreFromBeforeAssignmentIntervalsIsMigratedAndKeepsItsIds) {
  Ingest("m-1", Mothers(0, 12));
  Link();
  Ingest("m-2", Mothers(12, 14));
  const LinkageReport two = Link();
  const std::map<int, uint64_t> before = PersonOfMother();
  {
    // Back to schema version 4: every generation kept all its links.
    auto db = SqliteDb::Open(path_);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec(R"sql(
      CREATE TABLE person_links(
        project TEXT NOT NULL, generation INTEGER NOT NULL,
        participant INTEGER NOT NULL, person INTEGER NOT NULL,
        PRIMARY KEY(project, generation, participant)) WITHOUT ROWID;
      INSERT INTO person_links
        SELECT a.project, g.generation, a.participant, a.person
        FROM person_assignments a JOIN generations g ON g.project = a.project
        WHERE a.valid_from <= g.generation AND (a.valid_until IS NULL OR a.valid_until > g.generation);
      DROP TABLE person_assignments;
      DROP INDEX records_retired;
      DELETE FROM schema_version WHERE version = 5;
    )sql"),
                IsOk());
  }
  OpenStore();
  EXPECT_EQ(PersonOfMother(), before);
  // Both generations still answer, each with its own persons.
  EXPECT_EQ(Events(two.generation() - 1), 12u);
  EXPECT_EQ(Events(two.generation()), 14u);
  Ingest("m-3", {3, 4});
  const LinkageReport three = Link();
  EXPECT_EQ(PersonOfMother(), before);
  EXPECT_EQ(LineageCounts(three), (std::vector<int64_t>{14, 0, 0, 0}));
}

}  // namespace
}  // namespace trelink
