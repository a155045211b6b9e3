// Ingest into the real SQLite store: whole batches or nothing, idempotent
// repeats, and every kind of bad input rejected with the store unchanged.
#include "common/linkage/batch_ingest.h"

#include <gtest/gtest.h>

#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/pseudonymiser.h"
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
  EXPECT_THAT(ingester_->Ingest(short_content),
              StatusIs(absl::StatusCode::kInvalidArgument, "records: 2 content records, but the batch declares 3"));
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

}  // namespace
}  // namespace trelink
