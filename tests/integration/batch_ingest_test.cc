// Ingest into the real SQLite store: whole batches or nothing, idempotent
// repeats, and every kind of bad input rejected with the store unchanged.
#include "common/linkage/batch_ingest.h"

#include <gtest/gtest.h>

#include "common/status/field_violation.h"

#include "common/crypto/sealed_batch.h"
#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/store/sqlite_db.h"
#include "common/store/sqlite_linked_store.h"
#include "tests/support/sample_batches.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;
using trelink::v1::IngestBatchRequest;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

class BatchIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    ASSERT_THAT(catalogue, IsOk());
    catalogue_ = std::make_unique<Catalogue>(*std::move(catalogue));
    auto pseudonymiser = Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker_.public_key(),
                                               DefaultKeySchema(), {}, kClock);
    ASSERT_THAT(pseudonymiser, IsOk());
    pseudonymiser_ = *std::move(pseudonymiser);
    path_ = ::trelink::testing::MakeTempDir() + "/linked.db";
    auto store = SqliteLinkedStore::Open(path_, kClock);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    ingester_ = std::make_unique<BatchIngester>(*catalogue_, linker_, *store_, 100);
  }

  // A sealed maternity batch of `n` records with valid content.
  IngestBatchRequest Batch(const std::string& id, int n, const std::string& project = "demo") {
    auto sealed = pseudonymiser_->PseudonymiseBatch(::trelink::testing::MaternityBatch(id, n, project));
    EXPECT_THAT(sealed, IsOk());
    return ::trelink::testing::BirthsIngest(sealed->sealed(), n);
  }

  int64_t Stored() { return *store_->CountRecords("demo"); }

  // A maternity batch whose records carry the provider's `record_ids`.
  trelink::v1::PseudonymiseBatchRequest WithIds(const std::string& id, const std::vector<std::string>& record_ids,
                                                const std::string& project = "demo") {
    auto request = ::trelink::testing::MaternityBatch(id, static_cast<int>(record_ids.size()), project);
    for (size_t r = 0; r < record_ids.size(); ++r) request.mutable_records(static_cast<int>(r))->set_record_id(record_ids[r]);
    return request;
  }
  IngestBatchRequest Sealed(const trelink::v1::PseudonymiseBatchRequest& request) {
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    EXPECT_THAT(sealed, IsOk());
    return ::trelink::testing::BirthsIngest(sealed->sealed(), request.records_size());
  }
  trelink::v1::WithdrawRequest Withdrawal(const std::string& id, const std::vector<std::string>& record_ids) {
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project("demo");
    request.set_dataset("maternity");
    request.set_batch_id(id);
    request.set_purpose(trelink::v1::BATCH_WITHDRAWAL);
    for (const std::string& record_id : record_ids) request.add_records()->set_record_id(record_id);
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    EXPECT_THAT(sealed, IsOk());
    trelink::v1::WithdrawRequest withdrawal;
    *withdrawal.mutable_sealed() = sealed->sealed();
    return withdrawal;
  }
  // Participants linkage would read.
  int64_t LiveParticipants() {
    int64_t n = 0;
    EXPECT_THAT(store_->ForEachParticipant("demo", [&](const ParticipantRow&) { ++n; }), IsOk());
    return n;
  }
  // Every record row, replaced and withdrawn ones included.
  int64_t RowsKept() {
    auto db = SqliteDb::Open(path_);
    EXPECT_THAT(db, IsOk());
    auto count = (*db)->Prepare("SELECT COUNT(*) FROM records");
    EXPECT_THAT(count, IsOk());
    EXPECT_THAT(count->Step(), IsOk());
    return count->Int(0);
  }

  LinkerKeyPair linker_ = ::trelink::testing::NewLinkerKeys();
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
  std::string path_;
  std::unique_ptr<SqliteLinkedStore> store_;
  std::unique_ptr<BatchIngester> ingester_;
};

TEST_F(BatchIngestTest, StoresABatchAndARepeatIsANoOp) {
  IngestBatchRequest batch = Batch("m-0", 5);
  TRELINK_ASSERT_OK_AND_ASSIGN(auto first, ingester_->Ingest(batch));
  EXPECT_FALSE(first.already_stored());
  EXPECT_EQ(first.records(), 5u);
  EXPECT_EQ(Stored(), 5);
  TRELINK_ASSERT_OK_AND_ASSIGN(auto again, ingester_->Ingest(batch));
  EXPECT_TRUE(again.already_stored());
  EXPECT_EQ(Stored(), 5);
  // Re-pseudonymised (a new sealed blob) but the same content: still a repeat.
  TRELINK_ASSERT_OK_AND_ASSIGN(auto resealed, ingester_->Ingest(Batch("m-0", 5)));
  EXPECT_TRUE(resealed.already_stored());
  EXPECT_EQ(Stored(), 5);
}

TEST_F(BatchIngestTest, SameBatchIdWithOtherContentIsAlreadyExists) {
  ASSERT_THAT(ingester_->Ingest(Batch("m-0", 5)), IsOk());
  IngestBatchRequest other = Batch("m-0", 5);
  other.mutable_records(2)->set_event("booking");
  EXPECT_THAT(ingester_->Ingest(other), StatusIs(absl::StatusCode::kAlreadyExists, "batch m-0: batch_id"));
  EXPECT_EQ(Stored(), 5);
}

TEST_F(BatchIngestTest, BadContentRejectsTheWholeBatchNamingRecordAndField) {
  IngestBatchRequest batch = Batch("m-1", 4);
  batch.mutable_records(3)->set_event("adoption_order");
  EXPECT_THAT(ingester_->Ingest(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch m-1: records[3].event: not an event of dataset maternity"));
  batch = Batch("m-1", 4);
  (*batch.mutable_records(2)->mutable_attributes())["region"] = "Narnia";
  EXPECT_THAT(ingester_->Ingest(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch m-1: records[2].attributes.region"));
  batch = Batch("m-1", 4);
  batch.mutable_records(1)->set_event_date("2035-01-01");
  EXPECT_THAT(ingester_->Ingest(batch), StatusIs(absl::StatusCode::kInvalidArgument, "records[1].event_date: outside"));
  EXPECT_EQ(Stored(), 0);
}

TEST_F(BatchIngestTest, MisboundOrDamagedSealedBlobsAreRejected) {
  IngestBatchRequest batch = Batch("m-2", 3);
  IngestBatchRequest other_batch = Batch("m-3", 3);
  IngestBatchRequest other_project = Batch("m-2", 3, "pilot");

  IngestBatchRequest swapped = batch;
  swapped.mutable_sealed()->set_blob(other_batch.sealed().blob());
  EXPECT_THAT(ingester_->Ingest(swapped), StatusIs(absl::StatusCode::kInvalidArgument, "sealed for another batch id"));
  swapped = batch;
  swapped.mutable_sealed()->set_blob(other_project.sealed().blob());
  EXPECT_THAT(ingester_->Ingest(swapped), StatusIs(absl::StatusCode::kInvalidArgument, "sealed for another project"));
  IngestBatchRequest short_content = batch;
  short_content.mutable_records()->RemoveLast();
  const absl::Status short_status = ingester_->Ingest(short_content).status();
  EXPECT_THAT(short_status,
              StatusIs(absl::StatusCode::kInvalidArgument, "records: 2 content records, but the batch declares 3"));
  // The field at fault travels as data too (google.rpc.BadRequest details).
  ASSERT_EQ(FieldViolations(short_status).size(), 1u);
  EXPECT_EQ(FieldViolations(short_status)[0].field, "records");
  IngestBatchRequest garbage = batch;
  garbage.mutable_sealed()->set_blob(std::string(300, 'x'));
  EXPECT_THAT(ingester_->Ingest(garbage), StatusIs(absl::StatusCode::kInvalidArgument, "sealed blob rejected"));
  IngestBatchRequest unknown_dataset = batch;
  unknown_dataset.mutable_sealed()->set_dataset("prisons");
  EXPECT_THAT(ingester_->Ingest(unknown_dataset),
              StatusIs(absl::StatusCode::kInvalidArgument, "sealed.dataset: \"prisons\" is not in the catalogue"));
  IngestBatchRequest wrong_dataset = batch;
  wrong_dataset.mutable_sealed()->set_dataset("court");  // exists, but the blob was sealed for maternity
  EXPECT_THAT(ingester_->Ingest(wrong_dataset), StatusIs(absl::StatusCode::kInvalidArgument, "another dataset"));
  EXPECT_EQ(Stored(), 0);
  EXPECT_EQ(*store_->CountRecords("pilot"), 0);
}

TEST_F(BatchIngestTest, ParticipantRoleMustBelongToTheDataset) {
  auto identifiers = ::trelink::testing::MaternityBatch("c-1", 2);
  identifiers.set_dataset("court");  // court's roles are child and parent; these are mother and baby
  auto sealed = pseudonymiser_->PseudonymiseBatch(identifiers);
  ASSERT_THAT(sealed, IsOk());
  IngestBatchRequest request;
  *request.mutable_sealed() = sealed->sealed();
  for (int i = 0; i < 2; ++i) {
    auto* r = request.add_records();
    r->set_event("care_proceedings");
    r->set_event_date("2020-02-20");
    (*r->mutable_attributes())["region"] = "E12000003";
  }
  EXPECT_THAT(ingester_->Ingest(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   "batch c-1: records[0].participants[0].role: \"mother\""));
}

TEST_F(BatchIngestTest, BatchLimitIsResourceExhausted) {
  EXPECT_THAT(ingester_->Ingest(Batch("big", 101)), StatusIs(absl::StatusCode::kResourceExhausted, "limit of 100"));
}

TEST_F(BatchIngestTest, StoreSurvivesReopeningAndRefusesANewerSchema) {
  ASSERT_THAT(ingester_->Ingest(Batch("m-0", 5)), IsOk());
  ingester_.reset();
  store_.reset();
  TRELINK_ASSERT_OK_AND_ASSIGN(auto reopened, SqliteLinkedStore::Open(path_, kClock));
  EXPECT_EQ(*reopened->CountRecords("demo"), 5);
  TRELINK_ASSERT_OK_AND_ASSIGN(auto found, reopened->FindBatch("demo", "maternity", "m-0"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->records, 5u);
  reopened.reset();
  {
    TRELINK_ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path_));
    ASSERT_THAT(db->Exec("INSERT INTO schema_version VALUES(99)"), IsOk());
  }
  EXPECT_THAT(SqliteLinkedStore::Open(path_, kClock),
              StatusIs(absl::StatusCode::kFailedPrecondition, "newer than this linker understands"));
}

TEST_F(BatchIngestTest, ARedeliveredRecordIdReplacesTheEarlierRecord) {
  TRELINK_ASSERT_OK_AND_ASSIGN(auto october, ingester_->Ingest(Sealed(WithIds("m:2026-10:0", {"r1", "r2", "r3"}))));
  EXPECT_EQ(october.records_replaced(), 0u);
  const IngestBatchRequest november = Sealed(WithIds("m:2026-11:0", {"r3", "r4"}));
  TRELINK_ASSERT_OK_AND_ASSIGN(auto corrected, ingester_->Ingest(november));
  EXPECT_EQ(corrected.records_replaced(), 1u);
  EXPECT_EQ(Stored(), 4);
  EXPECT_EQ(LiveParticipants(), 8);  // mother and baby of r1, r2, r3 (November's) and r4
  EXPECT_EQ(RowsKept(), 5);          // October's r3 is kept for audit
  // Re-sending the November extract changes nothing.
  TRELINK_ASSERT_OK_AND_ASSIGN(auto again, ingester_->Ingest(november));
  EXPECT_TRUE(again.already_stored());
  EXPECT_EQ(Stored(), 4);
  EXPECT_EQ(RowsKept(), 5);
}

TEST_F(BatchIngestTest, AWithdrawalTakesEveryDeliveryOfARecordOutAndRepeatsChangeNothing) {
  ASSERT_THAT(ingester_->Ingest(Sealed(WithIds("m:2026-10:0", {"r1", "r2", "r3"}))), IsOk());
  ASSERT_THAT(ingester_->Ingest(Sealed(WithIds("m:2026-11:0", {"r3"}))), IsOk());
  const trelink::v1::WithdrawRequest withdrawal = Withdrawal("w:0", {"r1", "r3", "r9"});
  TRELINK_ASSERT_OK_AND_ASSIGN(auto first, ingester_->Withdraw(withdrawal));
  EXPECT_EQ(first.withdrawn(), 2u);
  EXPECT_EQ(first.already_withdrawn(), 0u);
  EXPECT_EQ(first.not_found(), 1u);
  EXPECT_EQ(Stored(), 1);
  EXPECT_EQ(LiveParticipants(), 2);
  EXPECT_EQ(RowsKept(), 4);
  TRELINK_ASSERT_OK_AND_ASSIGN(auto again, ingester_->Withdraw(withdrawal));
  EXPECT_EQ(again.withdrawn(), 0u);
  EXPECT_EQ(again.already_withdrawn(), 2u);
  EXPECT_EQ(again.not_found(), 1u);
  EXPECT_EQ(Stored(), 1);
}

TEST_F(BatchIngestTest, WithdrawalAndDataBatchesCannotBeSwapped) {
  const IngestBatchRequest data = Sealed(WithIds("m:2026-10:0", {"r1", "r2"}));
  trelink::v1::WithdrawRequest as_withdrawal;
  *as_withdrawal.mutable_sealed() = data.sealed();
  EXPECT_THAT(ingester_->Withdraw(as_withdrawal),
              StatusIs(absl::StatusCode::kInvalidArgument, "not a withdrawal"));
  const trelink::v1::WithdrawRequest withdrawal = Withdrawal("w:0", {"r1", "r2"});
  const absl::Status swapped = ingester_->Ingest(::trelink::testing::BirthsIngest(withdrawal.sealed(), 2)).status();
  EXPECT_THAT(swapped, StatusIs(absl::StatusCode::kInvalidArgument, "a withdrawal batch, not records"));
  ASSERT_EQ(FieldViolations(swapped).size(), 1u);
  EXPECT_EQ(FieldViolations(swapped)[0].field, "sealed");
  EXPECT_EQ(Stored(), 0);
}

TEST_F(BatchIngestTest, ARepeatedOrUnprintableRecordIdIsRejectedWithoutItsValue) {
  auto repeated = pseudonymiser_->PseudonymiseBatch(WithIds("m:0", {"r1", "SECRET-77", "SECRET-77"}));
  EXPECT_THAT(repeated, StatusIs(absl::StatusCode::kInvalidArgument, "records[2].record_id: repeats records[1]"));
  EXPECT_EQ(repeated.status().message().find("SECRET"), std::string::npos);
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(WithIds("m:0", {"line\nbreak"})),
              StatusIs(absl::StatusCode::kInvalidArgument, "records[0].record_id: must be"));
  trelink::v1::PseudonymiseBatchRequest withdrawal = WithIds("w:0", {"r1"});
  withdrawal.set_purpose(trelink::v1::BATCH_WITHDRAWAL);  // records with participants
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(withdrawal),
              StatusIs(absl::StatusCode::kInvalidArgument, "a withdrawal names a record_id and no participants"));
}

// One record id gives one token in every batch of its dataset and project,
// and another in any other dataset or project.
TEST_F(BatchIngestTest, RecordTokensAreKeyedToProjectAndDataset) {
  auto token = [&](const trelink::v1::PseudonymiseBatchRequest& request) {
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    EXPECT_THAT(sealed, IsOk());
    auto keys = OpenSealedBatch(sealed->sealed().blob(), linker_,
                                {request.project(), request.dataset(), request.batch_id(),
                                 static_cast<uint32_t>(request.records_size())});
    EXPECT_THAT(keys, IsOk());
    return keys->records(0).record_token();
  };
  const std::string first = token(WithIds("a", {"r1"}));
  EXPECT_EQ(first.size(), BatchIngester::kRecordTokenBytes);
  EXPECT_EQ(token(WithIds("b", {"r1"})), first);
  EXPECT_NE(token(WithIds("c", {"r2"})), first);
  EXPECT_NE(token(WithIds("d", {"r1"}, "other")), first);
  trelink::v1::PseudonymiseBatchRequest court = WithIds("e", {"r1"});
  court.set_dataset("court");
  EXPECT_NE(token(court), first);
}

}  // namespace
}  // namespace trelink
