// Incremental linkage (common/linkage/linkage_run.h) against a full
// re-link of the same store, on a harsh-profile trelink-synth population
// through the real pseudonymiser, ingester and SQLite store: a monthly
// extract, corrections and withdrawals linked into the persons kept in
// memory must give the persons a full run gives, touch no other person,
// and store only the assignments that changed.
#include <gtest/gtest.h>

#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/linkage/linkage_run.h"
#include "common/linkage/pairwise_quality.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using trelink::v1::LinkageReport;

class IncrementalLinkageTest : public ::testing::Test {
 protected:
  static const FixedClock& Clock() {
    static const FixedClock clock(absl::FromCivil(absl::CivilDay(2026, 11, 27), absl::UTCTimeZone()));
    return clock;
  }

  void SetUp() override {
    PopulationOptions population;
    population.seed = 11;
    population.mothers = 1500;
    TRELINK_ASSERT_OK_AND_ASSIGN(population.errors, ErrorProfileNamed("harsh"));
    october_ = GeneratePopulation(population);
    november_ = SplitOffExtract(october_, 0.03);
    TRELINK_ASSERT_OK_AND_ASSIGN(
        Catalogue catalogue, Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto"));
    catalogue_ = std::make_unique<Catalogue>(std::move(catalogue));
    TRELINK_ASSERT_OK_AND_ASSIGN(options_, LinkageOptions::FromPolicy({}));
    options_.AddCatalogueConstraints(catalogue_->proto());
    options_.quality.enabled = false;  // not what this test is about, and slow
    TRELINK_ASSERT_OK_AND_ASSIGN(
        pseudonymiser_,
        Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker_.public_key(), DefaultKeySchema(), {}, Clock()));
    TRELINK_ASSERT_OK_AND_ASSIGN(store_,
                                 SqliteLinkedStore::Open(::trelink::testing::MakeTempDir() + "/linked.db", Clock()));
    ingester_ = std::make_unique<BatchIngester>(*catalogue_, linker_, *store_, 100000);
    Ingest(october_, "2026-10");
  }

  void Ingest(const SyntheticPopulation& population, const std::string& extract) {
    ASSERT_THAT(IngestPopulation(population, *catalogue_, *pseudonymiser_, *ingester_, "demo", 500, extract), IsOk());
  }

  LinkageReport Link(LinkageState* state, bool full = false) {
    LinkageRunContext context{store_.get(), &Clock(), nullptr, 10};
    context.state = state;
    context.full = full;
    auto report = RunLinkage(context, "demo", options_);
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : LinkageReport();
  }

  absl::flat_hash_map<int64_t, uint64_t> PersonOf() {
    absl::flat_hash_map<int64_t, uint64_t> person_of;
    auto assignments = store_->CurrentAssignments("demo");
    EXPECT_THAT(assignments, IsOk());
    if (assignments.ok()) {
      for (const PersonAssignment& a : *assignments) person_of[a.participant_id] = a.person_id;
    }
    return person_of;
  }

  // Pairwise agreement of two generations' persons over the participants
  // both assign: precision of `a` against `b`, and recall.
  static PairCounts Agreement(const absl::flat_hash_map<int64_t, uint64_t>& a,
                              const absl::flat_hash_map<int64_t, uint64_t>& b) {
    std::vector<uint64_t> labels_a, labels_b;
    for (const auto& [participant, person] : a) {
      auto it = b.find(participant);
      if (it == b.end()) continue;
      labels_a.push_back(person);
      labels_b.push_back(it->second);
    }
    return CountPairs(labels_a, labels_b);
  }

  // Withdraws the maternity records with these record ids.
  void Withdraw(const std::vector<std::string>& record_ids) {
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project("demo");
    request.set_dataset("maternity");
    request.set_batch_id("withdraw:1");
    request.set_purpose(trelink::v1::BATCH_WITHDRAWAL);
    for (const std::string& id : record_ids) request.add_records()->set_record_id(id);
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    ASSERT_THAT(sealed, IsOk());
    trelink::v1::WithdrawRequest withdrawal;
    *withdrawal.mutable_sealed() = sealed->sealed();
    auto done = ingester_->Withdraw(withdrawal);
    ASSERT_THAT(done, IsOk());
    EXPECT_EQ(done->withdrawn(), record_ids.size());
  }

  SyntheticPopulation october_, november_;
  std::unique_ptr<Catalogue> catalogue_;
  LinkageOptions options_;
  LinkerKeyPair linker_ = ::trelink::testing::NewLinkerKeys();
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
  std::unique_ptr<SqliteLinkedStore> store_;
  std::unique_ptr<BatchIngester> ingester_;
};

TEST_F(IncrementalLinkageTest, AnExtractLinkedIncrementallyGivesThePersonsOfAFullRelink) {
  LinkageState state;
  const LinkageReport first = Link(&state);
  EXPECT_EQ(first.mode(), "full");
  const auto before = PersonOf();
  Ingest(november_, "2026-11");

  const LinkageReport second = Link(&state);
  ASSERT_EQ(second.mode(), "incremental");
  EXPECT_EQ(second.fitted_at_generation(), first.generation());
  // Only the extract's participants and the persons they touch were linked.
  EXPECT_GT(second.participants_relinked().value(), 0u);
  EXPECT_LT(second.participants_relinked().value(), second.participants().value() / 10);
  const auto incremental = PersonOf();
  EXPECT_EQ(incremental.size(), second.participants().value());

  // Every earlier participant stays, under its person unless that person
  // was touched by the extract; every earlier person is kept or merged.
  uint64_t moved = 0;
  for (const auto& [participant, person] : before) {
    ASSERT_TRUE(incremental.contains(participant)) << participant;
    if (incremental.at(participant) != person) ++moved;
  }
  EXPECT_LE(moved, second.participants_relinked().value());
  EXPECT_EQ(second.lineage().kept().value() + second.lineage().merged().value(), first.persons().value());

  const LinkageReport full = Link(&state, /*full=*/true);
  ASSERT_EQ(full.mode(), "full");
  const PairCounts agreement = Agreement(incremental, PersonOf());
  std::printf("incremental against full: pair precision %.6f, recall %.6f (%llu pairs)\n", agreement.precision(),
              agreement.recall(), static_cast<unsigned long long>(agreement.predicted));
  EXPECT_GE(agreement.precision(), 0.999);
  EXPECT_GE(agreement.recall(), 0.999);
}

TEST_F(IncrementalLinkageTest, CorrectionsAndWithdrawalsReleaseOnlyThePersonsTheyTouch) {
  LinkageState state;
  const LinkageReport first = Link(&state);
  const auto before = PersonOf();
  const int64_t records_before = *store_->CountRecords("demo");

  // Withdraw 12 maternity records; correct 15 others (the mother moved).
  const SyntheticDataset& maternity = october_.datasets.at("maternity");
  std::vector<std::string> withdrawn;
  SyntheticPopulation corrections;
  SyntheticDataset& corrected = corrections.datasets["maternity"];
  corrected.header = maternity.header;
  for (size_t row = 0; row < 27; ++row) {
    const SyntheticRow& original = maternity.rows[row * 37];
    if (row < 12) {
      withdrawn.push_back(original.cells[0]);  // record_id
      continue;
    }
    SyntheticRow changed = original;
    changed.cells[5] = "ZZ9 9ZZ";  // mother_postcode
    corrected.rows.push_back(changed);
  }
  Withdraw(withdrawn);
  Ingest(corrections, "2026-10-corrections");

  const LinkageReport second = Link(&state);
  ASSERT_EQ(second.mode(), "incremental");
  EXPECT_EQ(*store_->CountRecords("demo"), records_before - 12);
  EXPECT_EQ(second.records().value(), static_cast<uint64_t>(records_before - 12));
  uint64_t events = 0;
  ASSERT_THAT(store_->ForEachEvent("demo", second.generation(), [&](const EventRow&) { ++events; }), IsOk());
  EXPECT_EQ(events, static_cast<uint64_t>(records_before - 12));

  // The participants that left are exactly those of the withdrawn and the
  // replaced records; the persons they were in are the touched ones.
  const auto after = PersonOf();
  std::set<uint64_t> touched;
  uint64_t left = 0;
  for (const auto& [participant, person] : before) {
    if (!after.contains(participant)) {
      ++left;
      touched.insert(person);
    }
  }
  uint64_t participants_of_changed_rows = 0;
  for (size_t row = 0; row < 27; ++row) participants_of_changed_rows += maternity.rows[row * 37].truth.size();
  EXPECT_EQ(left, participants_of_changed_rows);
  // Everyone else keeps their person id.
  for (const auto& [participant, person] : before) {
    if (after.contains(participant) && !touched.count(person)) {
      EXPECT_EQ(after.at(participant), person) << "participant " << participant;
    }
  }
  // Untouched persons are kept, and so are most touched ones (a corrected
  // record's participants continue their persons).
  EXPECT_GE(second.lineage().kept().value(), first.persons().value() - touched.size());
  EXPECT_GT(second.lineage().kept().value(), first.persons().value() - touched.size() / 2);
  EXPECT_EQ(second.lineage().split().value(), 0u);

  Link(&state, /*full=*/true);
  const PairCounts agreement = Agreement(after, PersonOf());
  EXPECT_DOUBLE_EQ(agreement.precision(), 1.0);
  EXPECT_DOUBLE_EQ(agreement.recall(), 1.0);
}

TEST_F(IncrementalLinkageTest, AStateBehindTheStoreLinksFully) {
  LinkageState state;
  Link(&state);
  Link(nullptr);  // another linker (or a restart) made a generation since
  Ingest(november_, "2026-11");
  const LinkageReport third = Link(&state);
  EXPECT_EQ(third.mode(), "full");
  EXPECT_EQ(third.generation(), 3u);
  // The full run left a current state: the next run is incremental again,
  // with nothing to link.
  const LinkageReport fourth = Link(&state);
  EXPECT_EQ(fourth.mode(), "incremental");
  EXPECT_EQ(fourth.participants_relinked().value(), 0u);
  EXPECT_EQ(fourth.persons().value(), third.persons().value());
  EXPECT_EQ(fourth.lineage().kept().value(), third.persons().value());
}

}  // namespace
}  // namespace trelink
