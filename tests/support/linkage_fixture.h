// A fixture with the pseudonymiser, the real SQLite store, the ingester
// and the linkage run in one process: for tests of what linkage does with
// stored records. Deterministic passes only, no quality estimate.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/linkage/batch_ingest.h"
#include "common/linkage/linkage_run.h"
#include "common/pseudonym/key_schema.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/store/sqlite_linked_store.h"
#include "tests/support/sample_batches.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink::testing {

class LinkageFixture : public ::testing::Test {
 protected:
  static const FixedClock& Clock() {
    static const FixedClock clock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));
    return clock;
  }

  void SetUp() override {
    auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    auto pseudonymiser = Pseudonymiser::Create(NewKeyset(), linker_.public_key(), DefaultKeySchema(), {}, Clock());
    auto options = LinkageOptions::FromPolicy({});
    ASSERT_THAT(catalogue, IsOk());
    ASSERT_THAT(pseudonymiser, IsOk());
    ASSERT_THAT(options, IsOk());
    catalogue_ = std::make_unique<Catalogue>(*std::move(catalogue));
    pseudonymiser_ = *std::move(pseudonymiser);
    options_ = *std::move(options);
    options_.probabilistic = false;
    options_.quality.enabled = false;
    path_ = MakeTempDir() + "/linked.db";
    OpenStore();
  }

  // Opens the store (again, as a restarted linker does; the ingester holds
  // a reference to it).
  void OpenStore() {
    ingester_.reset();
    store_.reset();
    TRELINK_ASSERT_OK_AND_ASSIGN(store_, SqliteLinkedStore::Open(path_, Clock()));
    ingester_ = std::make_unique<BatchIngester>(*catalogue_, linker_, *store_, 100);
  }

  // Seals `request` and stores it with a birth per record.
  void IngestBirths(const trelink::v1::PseudonymiseBatchRequest& request) {
    auto sealed = pseudonymiser_->PseudonymiseBatch(request);
    ASSERT_THAT(sealed, IsOk());
    ASSERT_THAT(ingester_->Ingest(BirthsIngest(sealed->sealed(), request.records_size())), IsOk())
        << request.batch_id();
  }

  trelink::v1::LinkageReport Link() {
    auto report = RunLinkage({store_.get(), &Clock(), nullptr, 10}, "demo", options_);
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : trelink::v1::LinkageReport();
  }

  LinkerKeyPair linker_ = NewLinkerKeys();
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
  LinkageOptions options_;
  std::string path_;
  std::unique_ptr<SqliteLinkedStore> store_;
  std::unique_ptr<BatchIngester> ingester_;
};

}  // namespace trelink::testing
