// The linked store and the release history under storage faults: every
// mutating file call (write, fsync, truncate) of an ingest, of a linkage
// run's new generation and of a table's release record is failed in turn,
// once as a full disk (a short write, then no space) and once as an I/O
// error. Whichever call fails, the operation reports UNAVAILABLE, the store
// or history holds exactly its previous state and stays readable, the same
// operation succeeds once the fault is gone, and what it reported survives
// a reopen. The disclosure log has its own (disclosure_log_fault_test.cc);
// the aggregator's handling of a history that cannot record is in
// aggregate_handler_test.cc.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/linkage/batch_ingest.h"
#include "common/linkage/linkage_run.h"
#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/sdc/stored_release_history.h"
#include "common/store/sqlite_linked_store.h"
#include "tests/support/faulty_sqlite_vfs.h"
#include "tests/support/sample_batches.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::FaultySqliteVfs;
using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;
using ::trelink::testing::StorageFault;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

// Runs `operation` once per mutating file call it makes, failing that call
// with each kind of fault. `prepare` builds a fresh copy of the state before
// the operation; `check` then must find the state matching whether the
// operation took effect. An operation that met a fault must report
// UNAVAILABLE and leave the previous state, and succeed when run again; one
// that met none (a full disk from its last fsync on) must succeed. Returns
// the number of faults injected.
int64_t FailEachCallInTurn(const std::function<void()>& prepare, const std::function<absl::Status()>& operation,
                           const std::function<void(bool done)>& check) {
  prepare();
  FaultySqliteVfs::Disarm();
  EXPECT_THAT(operation(), IsOk());
  const int64_t calls = FaultySqliteVfs::calls();
  EXPECT_GT(calls, 0);
  int64_t injected = 0;
  for (StorageFault fault : {StorageFault::kDiskFull, StorageFault::kIoError}) {
    for (int64_t n = 1; n <= calls; ++n) {
      SCOPED_TRACE(absl::StrCat(fault == StorageFault::kDiskFull ? "disk full" : "I/O error", " from call ", n,
                                " of ", calls));
      prepare();
      FaultySqliteVfs::FailCall(n, fault);
      const absl::Status status = operation();
      const bool failed = FaultySqliteVfs::failed() > 0;
      FaultySqliteVfs::Disarm();
      if (!failed) {
        EXPECT_THAT(status, IsOk());
        check(true);
        continue;
      }
      ++injected;
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, ""));
      check(false);
      EXPECT_THAT(operation(), IsOk()) << "no recovery once the fault is gone";
      check(true);
    }
  }
  EXPECT_GT(injected, calls);
  return injected;
}

// A maternity batch sealed by an in-process pseudonymiser, with content.
class SealedBatches {
 public:
  SealedBatches() {
    auto pseudonymiser = Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker_.public_key(),
                                               DefaultKeySchema(), {}, kClock);
    EXPECT_THAT(pseudonymiser, IsOk());
    pseudonymiser_ = *std::move(pseudonymiser);
  }
  trelink::v1::IngestBatchRequest Batch(const std::string& id, int records) const {
    auto sealed = pseudonymiser_->PseudonymiseBatch(::trelink::testing::MaternityBatch(id, records));
    EXPECT_THAT(sealed, IsOk());
    return ::trelink::testing::BirthsIngest(sealed->sealed(), records);
  }
  const LinkerKeyPair& linker() const { return linker_; }

 private:
  LinkerKeyPair linker_ = ::trelink::testing::NewLinkerKeys();
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
};

class LinkedStoreFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { FaultySqliteVfs::Install(); }
  void SetUp() override {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    ASSERT_THAT(catalogue, IsOk());
    catalogue_ = std::make_unique<Catalogue>(*std::move(catalogue));
  }

  // A new store in a new directory, with nothing in it.
  void OpenEmptyStore() {
    ingester_.reset();
    store_.reset();
    path_ = ::trelink::testing::MakeTempDir() + "/linked.db";
    Reopen();
  }
  void Reopen() {
    ingester_.reset();
    store_.reset();
    auto store = SqliteLinkedStore::Open(path_, kClock);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    ingester_ = std::make_unique<BatchIngester>(*catalogue_, batches_.linker(), *store_, 100);
  }
  absl::Status Ingest(const trelink::v1::IngestBatchRequest& batch) { return ingester_->Ingest(batch).status(); }
  absl::Status Link() {
    LinkageOptions options;
    options.quality.enabled = false;
    return RunLinkage({store_.get(), &kClock, nullptr, 10}, "demo", options).status();
  }

  // The records the store holds, whether batch `id` is one of them, and the
  // latest generation; the store answering at all is the readability check.
  void ExpectStore(int64_t records, bool holds_second, uint64_t generation) {
    EXPECT_EQ(*store_->CountRecords("demo"), records);
    auto second = store_->FindBatch("demo", "maternity", "m-1");
    ASSERT_THAT(second, IsOk());
    EXPECT_EQ(second->has_value(), holds_second);
    auto report = store_->LatestReport("demo");
    ASSERT_THAT(report, IsOk());
    EXPECT_EQ(report->has_value() ? (*report)->generation() : 0u, generation);
    if (generation == 0) return;
    int64_t events = 0;
    ASSERT_THAT(store_->ForEachEvent("demo", generation, [&events](const EventRow&) { ++events; }), IsOk());
    EXPECT_EQ(events, records);
  }

  SealedBatches batches_;
  const trelink::v1::IngestBatchRequest first_ = batches_.Batch("m-0", 3);
  const trelink::v1::IngestBatchRequest second_ = batches_.Batch("m-1", 2);
  std::unique_ptr<Catalogue> catalogue_;
  std::string path_;
  std::unique_ptr<SqliteLinkedStore> store_;
  std::unique_ptr<BatchIngester> ingester_;
};

TEST_F(LinkedStoreFaultTest, AFullDiskIsReportedAsUnavailableStore) {
  OpenEmptyStore();
  FaultySqliteVfs::FailCall(1, StorageFault::kDiskFull);
  EXPECT_THAT(Ingest(second_), StatusIs(absl::StatusCode::kUnavailable, "store: database or disk is full"));
  FaultySqliteVfs::Disarm();
  ExpectStore(0, false, 0);
}

TEST_F(LinkedStoreFaultTest, AnIngestThatFailsStoresNothingOfItsBatch) {
  const int64_t points = FailEachCallInTurn(
      [&] {
        OpenEmptyStore();
        ASSERT_THAT(Ingest(first_), IsOk());
      },
      [&] { return Ingest(second_); },
      [&](bool done) {
        ExpectStore(done ? 5 : 3, done, 0);
        if (!done) return;
        Reopen();
        ExpectStore(5, true, 0);
      });
  RecordProperty("faults_injected", static_cast<int>(points));
  std::cout << points << " faults injected\n";
}

TEST_F(LinkedStoreFaultTest, ALinkageRunThatFailsLeavesThePreviousGeneration) {
  const int64_t points = FailEachCallInTurn(
      [&] {
        OpenEmptyStore();
        ASSERT_THAT(Ingest(first_), IsOk());
        ASSERT_THAT(Ingest(second_), IsOk());
        ASSERT_THAT(Link(), IsOk());
      },
      [&] { return Link(); },
      [&](bool done) {
        ExpectStore(5, true, done ? 2 : 1);
        if (!done) return;
        Reopen();
        ExpectStore(5, true, 2);
      });
  RecordProperty("faults_injected", static_cast<int>(points));
  std::cout << points << " faults injected\n";
}

class ReleaseHistoryFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { FaultySqliteVfs::Install(); }

  static RecordedCell Cell(uint64_t first, uint64_t count) {
    RecordedCell cell;
    for (uint64_t i = 0; i < count; ++i) cell.anchors.push_back((first + i) * 7919);
    cell.released = true;
    cell.low = count - 2;
    cell.high = count + 2;
    cell.definition = "cell " + std::to_string(first);
    return cell;
  }
  void OpenEmpty() {
    history_.reset();
    path_ = ::trelink::testing::MakeTempDir() + "/disclosure.log.releases";
    Reopen();
  }
  void Reopen() {
    history_.reset();
    auto history = StoredReleaseHistory::Open(path_);
    ASSERT_THAT(history, IsOk());
    history_ = *std::move(history);
  }
  // Whether the table {margin, cell} is remembered whole after the earlier
  // one-cell table, before and after reopening the file.
  void ExpectRemembered(bool table) {
    for (bool reopened : {false, true}) {
      if (reopened) Reopen();
      auto tables = history_->Tables("demo");
      ASSERT_THAT(tables, IsOk());
      ASSERT_EQ(tables->size(), table ? 2u : 1u) << "reopened " << reopened;
      EXPECT_EQ((*tables)[0].size(), 1u);
      EXPECT_EQ((*tables)[0][0].anchors, earlier_[0].anchors);
      if (table) {
        ASSERT_EQ((*tables)[1].size(), 2u);
        EXPECT_EQ((*tables)[1][1].anchors, table_[1].anchors);
        EXPECT_EQ((*tables)[1][1].low, 48u);
      }
    }
  }

  const RecordedTable earlier_ = {Cell(1, 500)};
  const RecordedTable table_ = {Cell(1000, 200), Cell(2000, 50)};
  std::string path_;
  std::unique_ptr<StoredReleaseHistory> history_;
};

TEST_F(ReleaseHistoryFaultTest, ATableIsRememberedWhollyOrNotAtAll) {
  const int64_t points = FailEachCallInTurn(
      [&] {
        OpenEmpty();
        ASSERT_THAT(history_->Record("demo", earlier_), IsOk());
      },
      [&] { return history_->Record("demo", table_); },
      [&](bool done) { ExpectRemembered(done); });
  RecordProperty("faults_injected", static_cast<int>(points));
  std::cout << points << " faults injected\n";
}

TEST_F(ReleaseHistoryFaultTest, AFailedRecordSaysSoWithoutDetail) {
  OpenEmpty();
  FaultySqliteVfs::FailCall(1, StorageFault::kDiskFull);
  EXPECT_THAT(history_->Record("demo", table_),
              StatusIs(absl::StatusCode::kUnavailable, "release history: could not store the released table"));
  FaultySqliteVfs::Disarm();
  EXPECT_EQ(*history_->TableCount(), 0);
}

}  // namespace
}  // namespace trelink
