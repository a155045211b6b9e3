// The LinkedStore contract, run against both stores: the embedded SQLite
// store and PostgreSQL (a real server from Debian's packages, started by
// the test harness: tests/support/postgres_server.sh, a CTest fixture).
// Each test gets a fresh store: a new file, or a new database.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/store/postgres_db.h"
#include "common/store/postgres_linked_store.h"
#include "common/store/sqlite_linked_store.h"
#include "common/time/clock.h"
#include "tests/support/postgres_database.h"
#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 27), absl::UTCTimeZone()));

// A record for a batch: its token (may be empty), earlier tokens, event
// and participants (role, key value).
struct TestRecord {
  std::string token;
  std::vector<std::string> earlier_tokens;
  std::string event = "birth";
  std::vector<std::pair<std::string, std::string>> participants;
};

class StoredBatchBuilder {
 public:
  StoredBatchBuilder(std::string dataset, std::string batch_id, uint32_t key_version = 1) {
    batch_.project = "p";
    batch_.dataset = std::move(dataset);
    batch_.batch_id = std::move(batch_id);
    batch_.digest = "digest of " + batch_.batch_id;
    keys_.set_key_version(key_version);
    keys_.add_key_names("nhs");
    keys_.add_key_names(batch_.dataset == "maternity" ? "name_dob" : "name_dob_child");
  }
  StoredBatchBuilder& Add(const TestRecord& record) {
    trelink::v1::RecordKeys* keys = keys_.add_records();
    keys->set_record_token(record.token);
    for (const std::string& t : record.earlier_tokens) keys->add_earlier_record_tokens(t);
    for (const auto& [role, value] : record.participants) {
      trelink::v1::ParticipantKeys* p = keys->add_participants();
      p->set_role(role);
      p->add_values(value);
      p->add_values(std::string("\0\t\n\\x", 5) + value);  // bytes COPY and text would mangle
    }
    trelink::v1::ContentRecord* content = content_.Add();
    content->set_event(record.event);
    content->set_event_date("2024-03-0" + std::to_string(content_.size()));
    (*content->mutable_attributes())["region"] = "North\tEast";
    return *this;
  }
  const BatchToStore& Get() {
    batch_.keys = &keys_;
    batch_.content = &content_;
    return batch_;
  }

 private:
  BatchToStore batch_;
  trelink::v1::SealedMatchKeys keys_;
  google::protobuf::RepeatedPtrField<trelink::v1::ContentRecord> content_;
};

struct SeenParticipant {
  int64_t participant_id, record_id;
  std::string dataset, role, event;
  trelink::v1::ContentRecord content;
  std::vector<std::string> key_names;
  trelink::v1::ParticipantKeys keys;
};

class LinkedStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      static std::mt19937_64 rng(std::random_device{}());
      location_ = (std::filesystem::temp_directory_path() / absl::StrCat("store_", rng(), ".db")).string();
    } else {
      location_ = ::trelink::testing::NewPostgresDatabase();
      ASSERT_FALSE(location_.empty());
    }
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    if (GetParam() == "sqlite") {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(location_ + suffix);
      // The linkage leases' lock files.
      const std::filesystem::path store(location_);
      for (const auto& entry : std::filesystem::directory_iterator(store.parent_path())) {
        if (entry.path().filename().string().rfind(store.filename().string() + ".linkage-", 0) == 0) {
          std::filesystem::remove(entry.path());
        }
      }
    }
  }
  void Reopen() {
    store_.reset();
    store_ = OpenAnother();
  }
  // Another instance of the same store, as another linker would open it.
  std::unique_ptr<LinkedStore> OpenAnother() {
    absl::StatusOr<std::unique_ptr<LinkedStore>> opened;
    if (GetParam() == "sqlite") {
      opened = SqliteLinkedStore::Open(location_, kClock);
    } else {
      opened = PostgresLinkedStore::Open(location_, kClock);
    }
    EXPECT_THAT(opened.status(), IsOk());
    return opened.ok() ? *std::move(opened) : nullptr;
  }
  std::vector<SeenParticipant> Participants(int64_t after = 0) {
    std::vector<SeenParticipant> seen;
    EXPECT_THAT(store_->ForEachParticipant(
                    "p",
                    [&](const ParticipantRow& row) {
                      SeenParticipant s;
                      s.participant_id = row.participant_id;
                      s.record_id = row.record_id;
                      s.dataset = std::string(row.dataset);
                      s.role = std::string(row.role);
                      s.event = std::string(row.event);
                      EXPECT_TRUE(s.content.ParseFromArray(row.content.data(), static_cast<int>(row.content.size())));
                      s.key_names.assign(row.key_names.begin(), row.key_names.end());
                      EXPECT_TRUE(s.keys.ParseFromArray(row.keys.data(), static_cast<int>(row.keys.size())));
                      seen.push_back(std::move(s));
                    },
                    after),
                IsOk());
    return seen;
  }

  std::string location_;
  std::unique_ptr<LinkedStore> store_;
};

TEST_P(LinkedStoreConformanceTest, StoresABatchWholeAndRefusesItsIdAgain) {
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"t1", {}, "booking", {{"mother", "a"}}}).Add({"t2", {}, "birth", {{"mother", "b"}, {"baby", "c"}}});
  ASSERT_THAT(store_->StoreBatch(first.Get()), IsOk());
  auto found = store_->FindBatch("p", "maternity", "m-1");
  ASSERT_THAT(found.status(), IsOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->digest, "digest of m-1");
  EXPECT_EQ((*found)->records, 2u);
  EXPECT_FALSE(store_->FindBatch("p", "maternity", "m-2")->has_value());
  EXPECT_FALSE(store_->FindBatch("q", "maternity", "m-1")->has_value());

  StoredBatchBuilder again("maternity", "m-1");
  again.Add({"t3", {}, "birth", {{"mother", "d"}}});
  EXPECT_THAT(store_->StoreBatch(again.Get()).status(), StatusIs(absl::StatusCode::kAlreadyExists, ""));
  EXPECT_EQ(*store_->CountRecords("p"), 2);  // nothing of the refused batch
  EXPECT_EQ(Participants().size(), 3u);

  StoredBatchBuilder social("social_care", "s-1", 2);
  social.Add({"u1", {}, "referral", {{"child", "e"}}});
  ASSERT_THAT(store_->StoreBatch(social.Get()), IsOk());
  EXPECT_THAT(*store_->KeyNames("p"), ElementsAre("name_dob", "name_dob_child", "nhs"));
  EXPECT_EQ(*store_->LiveKeyVersions("p"), (std::set<uint32_t>{1, 2}));
  EXPECT_EQ(*store_->CountRecords("p"), 3);
  EXPECT_EQ(*store_->CountRecords("other"), 0);

  // Everything is still there after reopening.
  Reopen();
  EXPECT_EQ(*store_->CountRecords("p"), 3);
  EXPECT_EQ((*store_->FindBatch("p", "social_care", "s-1"))->records, 1u);
}

TEST_P(LinkedStoreConformanceTest, ParticipantsComeInIdOrderWithTheirRecordAndBytesIntact) {
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"t1", {}, "booking", {{"mother", "a"}}}).Add({"t2", {}, "birth", {{"mother", "b"}, {"baby", "c"}}});
  ASSERT_THAT(store_->StoreBatch(first.Get()), IsOk());
  std::vector<SeenParticipant> seen = Participants();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_LT(seen[0].participant_id, seen[1].participant_id);
  EXPECT_LT(seen[1].participant_id, seen[2].participant_id);
  EXPECT_NE(seen[0].record_id, seen[1].record_id);
  EXPECT_EQ(seen[1].record_id, seen[2].record_id);
  EXPECT_EQ(seen[0].dataset, "maternity");
  EXPECT_EQ(seen[0].event, "booking");
  EXPECT_EQ(seen[2].role, "baby");
  EXPECT_EQ(seen[2].event, "birth");
  EXPECT_EQ(seen[2].content.attributes().at("region"), "North\tEast");
  EXPECT_EQ(seen[2].content.event_date(), "2024-03-02");
  EXPECT_THAT(seen[0].key_names, ElementsAre("nhs", "name_dob"));
  ASSERT_EQ(seen[2].keys.values_size(), 2);
  EXPECT_EQ(seen[2].keys.values(0), "c");
  EXPECT_EQ(seen[2].keys.values(1), std::string("\0\t\n\\x", 5) + "c");

  // A later batch's participants have larger ids: `after` gives only them.
  StoredBatchBuilder second("maternity", "m-2");
  second.Add({"t3", {}, "birth", {{"mother", "d"}}});
  ASSERT_THAT(store_->StoreBatch(second.Get()), IsOk());
  std::vector<SeenParticipant> later = Participants(seen.back().participant_id);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_GT(later[0].participant_id, seen.back().participant_id);
  EXPECT_EQ(later[0].keys.values(0), "d");
}

TEST_P(LinkedStoreConformanceTest, ATokenSeenAgainReplacesTheEarlierRecordAndItsPeopleKeepTheirPlace) {
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"A", {}, "birth", {{"mother", "a"}, {"baby", "a1"}}})
      .Add({"B", {}, "birth", {{"mother", "b"}}})
      .Add({"", {}, "birth", {{"mother", "no token"}}});
  ASSERT_THAT(store_->StoreBatch(first.Get()), IsOk());
  const std::vector<SeenParticipant> before = Participants();
  ASSERT_EQ(before.size(), 4u);

  // A again (a correction); B2 carries B as its token under the earlier key
  // version; C twice in one batch: the second replaces the first.
  StoredBatchBuilder second("maternity", "m-2", 2);
  second.Add({"A", {}, "birth", {{"mother", "a corrected"}, {"baby", "a1 corrected"}}})
      .Add({"B2", {"B"}, "birth", {{"mother", "b again"}}})
      .Add({"C", {}, "birth", {{"mother", "c first"}}})
      .Add({"C", {}, "birth", {{"mother", "c second"}}});
  auto replaced = store_->StoreBatch(second.Get());
  ASSERT_THAT(replaced.status(), IsOk());
  EXPECT_EQ(*replaced, 3u);
  EXPECT_EQ(*store_->CountRecords("p"), 4);  // no-token record, A, B2, second C
  EXPECT_EQ(*store_->LiveKeyVersions("p"), (std::set<uint32_t>{1, 2}));  // the record without a token is live

  std::vector<std::string> live_mothers;
  std::map<std::string, int64_t> participant_of;
  for (const SeenParticipant& s : Participants()) {
    live_mothers.push_back(s.keys.values(0));
    participant_of[s.keys.values(0)] = s.participant_id;
  }
  EXPECT_THAT(live_mothers, ElementsAre("no token", "a corrected", "a1 corrected", "b again", "c second"));

  auto retired = store_->RetiredParticipants("p");
  ASSERT_THAT(retired.status(), IsOk());
  EXPECT_EQ(retired->size(), 4u);  // a, a1, b, c first

  auto successors = store_->SuccessorParticipants("p");
  ASSERT_THAT(successors.status(), IsOk());
  EXPECT_EQ(successors->at(before[0].participant_id), participant_of["a corrected"]);
  EXPECT_EQ(successors->at(before[1].participant_id), participant_of["a1 corrected"]);
  EXPECT_EQ(successors->at(before[2].participant_id), participant_of["b again"]);
  EXPECT_FALSE(successors->contains(before[3].participant_id));
}

TEST_P(LinkedStoreConformanceTest, AWithdrawalTakesRecordsOutOnceAndCountsWhatItFound) {
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"A", {}, "birth", {{"mother", "a"}}}).Add({"B", {}, "birth", {{"mother", "b"}}});
  ASSERT_THAT(store_->StoreBatch(first.Get()), IsOk());
  auto counts = store_->WithdrawRecords({"A", "nobody"});
  ASSERT_THAT(counts.status(), IsOk());
  EXPECT_EQ(counts->withdrawn, 1u);
  EXPECT_EQ(counts->already_withdrawn, 0u);
  EXPECT_EQ(counts->not_found, 1u);
  counts = store_->WithdrawRecords({"A"});
  EXPECT_EQ(counts->withdrawn, 0u);
  EXPECT_EQ(counts->already_withdrawn, 1u);
  EXPECT_EQ(*store_->CountRecords("p"), 1);
  ASSERT_EQ(Participants().size(), 1u);
  EXPECT_EQ(Participants()[0].keys.values(0), "b");
  EXPECT_EQ(store_->RetiredParticipants("p")->size(), 1u);
}

TEST_P(LinkedStoreConformanceTest, GenerationsKeepTheirAssignmentsEventsAndLineage) {
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"A", {}, "birth", {{"mother", "a"}, {"baby", "a1"}}}).Add({"B", {}, "booking", {{"mother", "b"}}});
  ASSERT_THAT(store_->StoreBatch(first.Get()), IsOk());
  const std::vector<SeenParticipant> p = Participants();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_FALSE(store_->LatestReport("p")->has_value());
  EXPECT_TRUE(store_->LatestAssignments("p")->empty());

  // Person ids are 64-bit random numbers: the top bit must survive.
  const uint64_t big = 0xF000000000000001ULL;
  trelink::v1::LinkageReport report;
  report.set_created_at("2026-11-27T00:00:00Z");
  ASSERT_THAT(store_->SaveCompleteGeneration("p", report,
                                             {{p[0].participant_id, big}, {p[1].participant_id, 7},
                                              {p[2].participant_id, big}},
                                             {{big, LineageKind::kNew}, {7, LineageKind::kNew}}),
              IsOk());
  EXPECT_EQ(report.generation(), 1u);
  EXPECT_EQ((*store_->LatestReport("p"))->generation(), 1u);
  EXPECT_THAT(*store_->CurrentAssignments("p"),
              ElementsAre(PersonAssignment{p[0].participant_id, big}, PersonAssignment{p[1].participant_id, 7},
                          PersonAssignment{p[2].participant_id, big}));

  struct Event {
    int64_t record;
    std::string dataset, event;
    std::vector<std::string> roles;
    std::vector<uint64_t> persons;
  };
  auto events = [&](uint64_t generation) {
    std::vector<Event> out;
    EXPECT_THAT(store_->ForEachEvent("p", generation,
                                     [&](const EventRow& row) {
                                       out.push_back({row.record_id, std::string(row.dataset), row.content.event(),
                                                      {row.roles.begin(), row.roles.end()},
                                                      {row.persons.begin(), row.persons.end()}});
                                     }),
                IsOk());
    return out;
  };
  std::vector<Event> one = events(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].event, "birth");
  EXPECT_THAT(one[0].roles, ElementsAre("mother", "baby"));
  EXPECT_THAT(one[0].persons, ElementsAre(big, 7u));
  EXPECT_EQ(one[1].dataset, "maternity");
  EXPECT_THAT(one[1].persons, ElementsAre(big));

  // Generation 2 moves the baby to its own person; generation 1 can still
  // be counted while it is among the generations kept.
  report.Clear();
  report.set_created_at("2026-11-28T00:00:00Z");
  ASSERT_THAT(store_->SaveCompleteGeneration("p", report,
                                             {{p[0].participant_id, big}, {p[1].participant_id, 9},
                                              {p[2].participant_id, big}},
                                             {{9, LineageKind::kSplit, 7}}),
              IsOk());
  EXPECT_EQ(report.generation(), 2u);
  EXPECT_THAT(events(2)[0].persons, ElementsAre(big, 9u));
  EXPECT_THAT(events(1)[0].persons, ElementsAre(big, 7u));

  // A correction: the latest assignments name the record in its place.
  StoredBatchBuilder fix("maternity", "m-2");
  fix.Add({"A", {}, "birth", {{"mother", "a corrected"}, {"baby", "a1 corrected"}}});
  ASSERT_THAT(store_->StoreBatch(fix.Get()), IsOk());
  const std::vector<SeenParticipant> now = Participants();
  ASSERT_EQ(now.size(), 3u);  // b, a corrected, a1 corrected
  EXPECT_THAT(*store_->LatestAssignments("p"),
              ElementsAre(PersonAssignment{p[2].participant_id, big}, PersonAssignment{now[1].participant_id, big},
                          PersonAssignment{now[2].participant_id, 9}));
  // A replaced record is still counted in the generations that linked it
  // (only withdrawal takes a record out of counts).
  EXPECT_EQ(events(2).size(), 2u);

  // Generation 3 keeps generation 2's assignments but no longer 1's.
  report.Clear();
  ASSERT_THAT(store_->SaveCompleteGeneration("p", report,
                                             {{p[2].participant_id, big}, {now[1].participant_id, big},
                                              {now[2].participant_id, 9}},
                                             {}),
              IsOk());
  EXPECT_EQ(report.generation(), 3u);
  EXPECT_EQ(events(3).size(), 2u);
  EXPECT_THAT(events(2)[0].persons, ElementsAre(big, 9u));
  // The baby's first assignment ended with generation 2 and is gone: two
  // generations back is past what is kept.
  EXPECT_THAT(events(1)[0].persons, ElementsAre(big));
}

TEST_P(LinkedStoreConformanceTest, AnOptOutListIsStagedInBatchesThenActivatedWhole) {
  EXPECT_FALSE(store_->ActiveOptOut("p")->has_value());
  EXPECT_EQ(*store_->StageOptOut("p", "2026-11", "b1", 1, {"n1", "n2", "n2"}), 2u);
  EXPECT_EQ(*store_->StageOptOut("p", "2026-11", "b1", 1, {"n9"}), 2u);  // a batch id already loaded: no-op
  EXPECT_EQ(*store_->StageOptOut("p", "2026-11", "b2", 1, {"n2", "n3"}), 3u);
  EXPECT_EQ(*store_->StageOptOut("p", "2026-11", "b1", 2, {"m1"}), 1u);  // after a key rotation
  EXPECT_THAT(store_->ActivateOptOut("p", "2026-12"), StatusIs(absl::StatusCode::kFailedPrecondition, "2026-12: no batch was loaded"));
  ASSERT_THAT(store_->ActivateOptOut("p", "2026-11"), IsOk());
  auto list = store_->ActiveOptOut("p");
  ASSERT_THAT(list.status(), IsOk());
  ASSERT_TRUE(list->has_value());
  EXPECT_EQ((*list)->version, "2026-11");
  EXPECT_THAT((*list)->nhs_keys, UnorderedElementsAre("n1", "n2", "n3", "m1"));
  EXPECT_EQ((*list)->key_versions, (std::set<uint32_t>{1, 2}));
  EXPECT_EQ((*list)->numbers, 1u);  // under the newest key version

  // A new list replaces the old one whole.
  EXPECT_EQ(*store_->StageOptOut("p", "2026-12", "b1", 2, {"m7"}), 1u);
  ASSERT_THAT(store_->ActivateOptOut("p", "2026-12"), IsOk());
  list = store_->ActiveOptOut("p");
  EXPECT_EQ((*list)->version, "2026-12");
  EXPECT_THAT((*list)->nhs_keys, ElementsAre("m7"));
  EXPECT_FALSE(store_->ActiveOptOut("other")->has_value());
}

// PostgreSQL only: the server restarts under a running store (a failover,
// an upgrade). The call that finds the connection gone fails UNAVAILABLE,
// with nothing half stored, and the next one reconnects.
TEST(PostgresLinkedStoreTest, AStoreReconnectsAfterTheServerRestarts) {
  const std::string script = std::string(TRELINK_SOURCE_DIR) + "/tests/support/postgres_server.sh";
  const std::string state =
      (std::filesystem::temp_directory_path() / absl::StrCat("trelink-restart-", getpid(), ".conninfo")).string();
  ASSERT_EQ(std::system(absl::StrCat("bash ", script, " start ", state).c_str()), 0);
  std::ifstream in(state);
  std::string conninfo;
  std::getline(in, conninfo);
  auto store = PostgresLinkedStore::Open(conninfo, kClock);
  ASSERT_THAT(store.status(), IsOk());
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"t1", {}, "birth", {{"mother", "a"}}});
  ASSERT_THAT((*store)->StoreBatch(first.Get()), IsOk());

  ASSERT_EQ(std::system(absl::StrCat("bash ", script, " restart ", state).c_str()), 0);
  StoredBatchBuilder second("maternity", "m-2");
  second.Add({"t2", {}, "birth", {{"mother", "b"}}});
  EXPECT_THAT((*store)->StoreBatch(second.Get()).status(),
              StatusIs(absl::StatusCode::kUnavailable, "store (PostgreSQL)"));
  auto found = (*store)->FindBatch("p", "maternity", "m-2");  // reconnects
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_FALSE(found->has_value());  // nothing half stored
  EXPECT_THAT((*store)->StoreBatch(second.Get()).status(), IsOk());
  EXPECT_EQ(*(*store)->CountRecords("p"), 2);
  store->reset();
  EXPECT_EQ(std::system(absl::StrCat("bash ", script, " stop ", state).c_str()), 0);
}

// PostgreSQL only: the planner's statistics are refreshed after a large
// load and after a generation, not left to autovacuum (a linkage run
// planned for empty tables reads a fresh million-record store in minutes
// instead of seconds).
TEST(PostgresLinkedStoreTest, TheTablesAreAnalysedAfterALargeLoadAndAfterAGeneration) {
  const std::string database = ::trelink::testing::NewPostgresDatabase();
  ASSERT_FALSE(database.empty());
  auto store = PostgresLinkedStore::Open(database, kClock);
  ASSERT_THAT(store.status(), IsOk());
  auto connection = PgConnection::Open(database);
  ASSERT_THAT(connection.status(), IsOk());
  auto analysed = [&](const std::string& table) {
    auto result = (*connection)->Query(
        "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = $1 AND last_analyze IS NOT NULL",
        PgParams().Text(table));
    EXPECT_THAT(result.status(), IsOk());
    return result.ok() && result->row(0).Int(0) == 1;
  };
  StoredBatchBuilder small("maternity", "m-0");
  small.Add({"t", {}, "birth", {{"mother", "a"}}});
  ASSERT_THAT((*store)->StoreBatch(small.Get()), IsOk());
  EXPECT_FALSE(analysed("records"));
  StoredBatchBuilder large("maternity", "m-1");
  for (int r = 0; r < 10000; ++r) large.Add({absl::StrCat("t", r), {}, "birth", {{"mother", absl::StrCat("m", r)}}});
  ASSERT_THAT((*store)->StoreBatch(large.Get()), IsOk());
  EXPECT_TRUE(analysed("records"));
  EXPECT_TRUE(analysed("participants"));
  EXPECT_FALSE(analysed("person_assignments"));
  trelink::v1::LinkageReport report;
  ASSERT_THAT((*store)->SaveCompleteGeneration("p", report, {{1, 5}}, {{5, LineageKind::kNew}}), IsOk());
  EXPECT_TRUE(analysed("person_assignments"));
}

// PostgreSQL only: the aggregator only reads the store, so it can connect
// as a role that may only read (docs/operations.md): opening the store
// changes nothing once the schema is current, and a write is refused.
TEST(PostgresLinkedStoreTest, AReadOnlyRoleReadsTheStoreAndCannotWriteIt) {
  const std::string database = ::trelink::testing::NewPostgresDatabase();
  ASSERT_FALSE(database.empty());
  auto writer = PostgresLinkedStore::Open(database, kClock);
  ASSERT_THAT(writer.status(), IsOk());
  StoredBatchBuilder first("maternity", "m-1");
  first.Add({"t1", {}, "birth", {{"mother", "a"}}});
  ASSERT_THAT((*writer)->StoreBatch(first.Get()), IsOk());

  static std::mt19937_64 rng(std::random_device{}());
  const std::string role = absl::StrCat("reader_", rng() % 1000000000000ULL);
  auto admin = PgConnection::Open(database);
  ASSERT_THAT(admin.status(), IsOk());
  ASSERT_THAT((*admin)->Exec(absl::StrCat("CREATE ROLE ", role, " LOGIN; GRANT USAGE ON SCHEMA public TO ", role,
                                          "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ", role)),
              IsOk());
  const std::string as_reader = absl::StrReplaceAll(database, {{"user=postgres", absl::StrCat("user=", role)}});
  auto reader = PostgresLinkedStore::Open(as_reader, kClock);
  ASSERT_THAT(reader.status(), IsOk());
  EXPECT_EQ(*(*reader)->CountRecords("p"), 1);
  EXPECT_TRUE((*reader)->FindBatch("p", "maternity", "m-1")->has_value());
  StoredBatchBuilder second("maternity", "m-2");
  second.Add({"t2", {}, "birth", {{"mother", "b"}}});
  EXPECT_THAT((*reader)->StoreBatch(second.Get()).status(), StatusIs(absl::StatusCode::kPermissionDenied, ""));
  EXPECT_THAT((*reader)->WithdrawRecords({"t1"}).status(), StatusIs(absl::StatusCode::kPermissionDenied, ""));
  EXPECT_EQ(*(*writer)->CountRecords("p"), 1);
}

TEST_P(LinkedStoreConformanceTest, OneLinkageRunPerProjectAcrossLinkersSharingTheStore) {
  std::unique_ptr<LinkedStore> other = OpenAnother();
  ASSERT_NE(other, nullptr);
  absl::StatusOr<std::unique_ptr<LinkedStore::LinkageLease>> first = store_->LeaseLinkage("p");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_THAT(other->LeaseLinkage("p").status(), StatusIs(absl::StatusCode::kFailedPrecondition, "in progress"));
  EXPECT_THAT(store_->LeaseLinkage("p").status(), StatusIs(absl::StatusCode::kFailedPrecondition, "in progress"));
  // Another project is not held up.
  EXPECT_THAT(other->LeaseLinkage("q").status(), IsOk());
  first->reset();
  EXPECT_THAT(other->LeaseLinkage("p").status(), IsOk());
}

// A linker that dies mid-run does not hold the project for ever: a child
// process takes the lease and is killed; the lease comes free.
TEST_P(LinkedStoreConformanceTest, ALinkageLeaseEndsWithTheProcessHoldingIt) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    std::unique_ptr<LinkedStore> own = OpenAnother();
    auto lease = own != nullptr ? own->LeaseLinkage("p") : absl::UnknownError("no store");
    const char held = lease.ok() ? 'y' : 'n';
    if (write(ready[1], &held, 1) != 1) _exit(2);
    pause();  // until killed
    _exit(0);
  }
  close(ready[1]);
  char held = 0;
  ASSERT_EQ(read(ready[0], &held, 1), 1);
  close(ready[0]);
  ASSERT_EQ(held, 'y');
  EXPECT_THAT(store_->LeaseLinkage("p").status(), StatusIs(absl::StatusCode::kFailedPrecondition, "in progress"));
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // The server notices the closed connection when its backend next reads
  // (at once on a local socket); the kernel drops the flock with the file.
  absl::Status taken = absl::UnknownError("not tried");
  for (int attempt = 0; attempt < 100 && !taken.ok(); ++attempt) {
    absl::StatusOr<std::unique_ptr<LinkedStore::LinkageLease>> lease = store_->LeaseLinkage("p");
    taken = lease.status();
    if (!taken.ok()) usleep(100000);
  }
  EXPECT_THAT(taken, IsOk());
}

// A store in memory is one process's own: its leases are kept in-process.
TEST(SqliteLinkedStoreTest, AStoreInMemoryLeasesItsProjectsOnceAtATime) {
  auto store = SqliteLinkedStore::Open(":memory:", kClock);
  ASSERT_THAT(store.status(), IsOk());
  absl::StatusOr<std::unique_ptr<LinkedStore::LinkageLease>> first = (*store)->LeaseLinkage("p");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_THAT((*store)->LeaseLinkage("p").status(), StatusIs(absl::StatusCode::kFailedPrecondition, "in progress"));
  EXPECT_THAT((*store)->LeaseLinkage("q").status(), IsOk());
  first->reset();
  EXPECT_THAT((*store)->LeaseLinkage("p").status(), IsOk());
}

INSTANTIATE_TEST_SUITE_P(BothStores, LinkedStoreConformanceTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace trelink
