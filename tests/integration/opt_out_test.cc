// The national data opt-out through the real pseudonymiser, store and
// linkage run: a list of NHS numbers, keyed like any identifier, takes out
// every record of a person linked to one of them (records without the
// number included), the next list can bring them back, and the report and
// store say which list applied.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/support/linkage_fixture.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::SeriesNhsNumber;
using ::trelink::testing::StatusIs;
using trelink::v1::LinkageReport;

class OptOutTest : public ::trelink::testing::LinkageFixture {
 protected:
  void SetUp() override {
    LinkageFixture::SetUp();
    // 20 mothers with their NHS number; mother 3 also has two records
    // without it, found only through linkage on names and date of birth.
    std::vector<int> mothers;
    for (int m = 0; m < 20; ++m) mothers.push_back(m);
    IngestBirths(::trelink::testing::MothersBatch("m-1", mothers));
    auto unnumbered = ::trelink::testing::MothersBatch("m-2", {3, 3});
    for (auto& record : *unnumbered.mutable_records()) {
      record.mutable_participants(0)->mutable_identifiers()->clear_nhs_number();
    }
    IngestBirths(unnumbered);
  }

  // An opt-out batch of `numbers`, sealed by the pseudonymiser.
  trelink::v1::OptOutRequest OptOut(const std::string& version, const std::string& batch_id,
                                    const std::vector<std::string>& numbers, bool complete) {
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project("demo");
    request.set_dataset("opt-out");
    request.set_batch_id(batch_id);
    request.set_purpose(trelink::v1::BATCH_OPT_OUT);
    for (const std::string& number : numbers) {
      auto* participant = request.add_records()->add_participants();
      participant->set_role("opt-out");
      participant->mutable_identifiers()->set_nhs_number(number);
    }
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    EXPECT_THAT(sealed, IsOk());
    trelink::v1::OptOutRequest apply;
    apply.set_list_version(version);
    if (sealed.ok()) *apply.mutable_sealed() = sealed->sealed();
    apply.set_complete(complete);
    return apply;
  }

  // Records the aggregator would count in `generation`.
  int Events(uint64_t generation) {
    int events = 0;
    EXPECT_THAT(store_->ForEachEvent("demo", generation, [&](const EventRow&) { ++events; }), IsOk());
    return events;
  }

};

TEST_F(OptOutTest, EveryRecordOfAnOptedOutPersonLeavesTheGenerationEvenWithoutTheNumber) {
  const LinkageReport before = Link();
  EXPECT_EQ(Events(before.generation()), 22);
  EXPECT_FALSE(before.has_opt_out());

  // Mother 3 and a number nobody in the data has, in two batches.
  TRELINK_ASSERT_OK_AND_ASSIGN(auto staged, ingester_->ApplyOptOut(OptOut("2026-11", "o-1", {SeriesNhsNumber(3)}, false)));
  EXPECT_EQ(staged.numbers_in_list(), 1u);
  EXPECT_EQ(staged.active_list(), "");
  TRELINK_ASSERT_OK_AND_ASSIGN(auto active,
                               ingester_->ApplyOptOut(OptOut("2026-11", "o-2", {SeriesNhsNumber(900)}, true)));
  EXPECT_EQ(active.numbers_in_list(), 2u);
  EXPECT_EQ(active.active_list(), "2026-11");

  const LinkageReport after = Link();
  EXPECT_EQ(Events(after.generation()), 19);  // her three records are gone
  EXPECT_EQ(after.opt_out().list_version(), "2026-11");
  EXPECT_EQ(after.opt_out().numbers_in_list(), 2u);
  // One person and three records: below the threshold, shown as suppressed.
  EXPECT_TRUE(after.opt_out().persons_excluded().suppressed());
  ASSERT_EQ(after.opt_out().records_excluded_size(), 1);
  EXPECT_EQ(after.opt_out().records_excluded(0).dataset(), "maternity");
  EXPECT_TRUE(after.opt_out().records_excluded(0).count().suppressed());
  // The others keep their person ids.
  EXPECT_EQ(after.lineage().kept().value(), 19u);
  EXPECT_TRUE(after.lineage().left().suppressed());  // mother 3, below the threshold
}

TEST_F(OptOutTest, ANewListReplacesTheOldAndAResentBatchChangesNothing) {
  const auto first = OptOut("2026-11", "o-1", {SeriesNhsNumber(3), SeriesNhsNumber(4)}, true);
  ASSERT_THAT(ingester_->ApplyOptOut(first), IsOk());
  TRELINK_ASSERT_OK_AND_ASSIGN(auto resent, ingester_->ApplyOptOut(first));
  EXPECT_EQ(resent.numbers_in_list(), 2u);
  EXPECT_EQ(Events(Link().generation()), 18);
  // December: mother 4 has opted back in.
  ASSERT_THAT(ingester_->ApplyOptOut(OptOut("2026-12", "o-1", {SeriesNhsNumber(3)}, true)), IsOk());
  TRELINK_ASSERT_OK_AND_ASSIGN(auto list, store_->ActiveOptOut("demo"));
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->version, "2026-12");
  EXPECT_EQ(list->nhs_keys.size(), 1u);
  const LinkageReport december = Link();
  EXPECT_EQ(Events(december.generation()), 19);
  EXPECT_EQ(december.opt_out().list_version(), "2026-12");
}

TEST_F(OptOutTest, OnlyAnOptOutBatchOfValidNumbersIsAccepted) {
  // A records batch is not an opt-out list, nor the other way round.
  auto records = pseudonymiser_->PseudonymiseBatch(::trelink::testing::MothersBatch("m-9", {30}));
  ASSERT_THAT(records, IsOk());
  trelink::v1::OptOutRequest wrong;
  wrong.set_list_version("2026-11");
  *wrong.mutable_sealed() = records->sealed();
  EXPECT_THAT(ingester_->ApplyOptOut(wrong), StatusIs(absl::StatusCode::kInvalidArgument, "sealed.dataset"));
  const auto list = OptOut("2026-11", "o-1", {SeriesNhsNumber(3)}, true);
  EXPECT_THAT(ingester_->Ingest(::trelink::testing::BirthsIngest(list.sealed(), 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, "sealed.dataset"));
  auto bad_version = list;
  bad_version.set_list_version("2026/11");
  EXPECT_THAT(ingester_->ApplyOptOut(bad_version), StatusIs(absl::StatusCode::kInvalidArgument, "list_version"));
  EXPECT_EQ(*store_->ActiveOptOut("demo"), std::nullopt);

  // The pseudonymiser takes NHS numbers only, valid ones, with the role and
  // dataset of an opt-out; the message never repeats the number.
  trelink::v1::PseudonymiseBatchRequest request;
  request.set_project("demo");
  request.set_dataset("opt-out");
  request.set_batch_id("o-x");
  request.set_purpose(trelink::v1::BATCH_OPT_OUT);
  auto* participant = request.add_records()->add_participants();
  participant->set_role("opt-out");
  participant->mutable_identifiers()->set_nhs_number("9434765918");  // wrong check digit
  auto invalid = pseudonymiser_->PseudonymiseBatch(request);
  EXPECT_THAT(invalid, StatusIs(absl::StatusCode::kInvalidArgument, "records[0].participants[0].identifiers.nhs_number"));
  EXPECT_EQ(invalid.status().message().find("9434765918"), std::string::npos);
  participant->mutable_identifiers()->set_nhs_number(SeriesNhsNumber(3));
  participant->mutable_identifiers()->set_family_name("Quennell-Ashdown");
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "an opt-out carries an NHS number only"));
  request.set_purpose(trelink::v1::BATCH_RECORDS);
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, "\"opt-out\" is for opt-out lists"));
}

}  // namespace
}  // namespace trelink
