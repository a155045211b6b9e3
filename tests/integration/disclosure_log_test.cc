// The disclosure log and its offline verifier: every tamper of the design
// brief is detected and named, and a crash mid-append leaves a log that
// still verifies.
#include "common/disclosure_log/disclosure_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/disclosure_log/log_verifier.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;

trelink::v1::LogEntry Release(int n) {
  trelink::v1::LogEntry entry;
  entry.set_time("2026-11-26T12:00:00Z");
  entry.set_caller("analyst");
  entry.set_role("analyst");
  entry.set_project("demo");
  entry.mutable_query()->set_name(absl::StrCat("query ", n));
  auto* policy = entry.mutable_policy();
  policy->set_version("v1");
  policy->set_threshold(10);
  policy->set_rounding_base(5);
  auto* table = entry.mutable_table();
  table->set_policy_version("v1");
  table->add_dimensions("region");
  for (const auto& [value, count, status] :
       std::vector<std::tuple<std::string, uint64_t, trelink::v1::CellStatus>>{
           {"A", 0, trelink::v1::SUPPRESSED},
           {"B", 0, trelink::v1::SUPPRESSED},
           {"C", 40, trelink::v1::ROUNDED},
           {"*", 65, trelink::v1::ROUNDED}}) {
    auto* cell = table->add_cells();
    cell->add_values(value);
    cell->set_is_total(value == "*");
    cell->set_count(count);
    cell->set_status(status);
  }
  return entry;
}

class DisclosureLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    auto signer = NoteSigner::Generate("trelink.test/log");
    ASSERT_THAT(signer, IsOk());
    verifier_ = signer->verifier();
    auto log = DisclosureLog::Open(dir_ + "/log", *std::move(signer));
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
  }

  void AppendReleases(int n) {
    for (int i = 0; i < n; ++i) {
      trelink::v1::LogEntry entry = Release(i);
      ASSERT_THAT(log_->Append(entry), IsOk());
    }
  }

  std::vector<std::string> Entries() { return *ReadLogEntries(dir_ + "/log"); }

  LogVerification Verify(const std::vector<std::string>& entries, const std::optional<std::string>& earlier = {}) {
    return VerifyDisclosureLog(entries, log_->Checkpoint(), verifier_, earlier);
  }

  static bool Has(const LogVerification& v, int64_t entry, const std::string& check) {
    for (const auto& p : v.problems) {
      if (p.entry == entry && p.check == check) return true;
    }
    return false;
  }

  std::string dir_;
  NoteVerifier verifier_ = *NoteVerifier::Parse(NoteSigner::Generate("x")->verifier().Encode());
  std::unique_ptr<DisclosureLog> log_;
};

TEST_F(DisclosureLogTest, AnIntactLogVerifies) {
  AppendReleases(25);
  LogVerification v = Verify(Entries());
  EXPECT_TRUE(v.ok()) << v.problems[0].detail;
  EXPECT_EQ(v.entries, 25u);
  EXPECT_EQ(v.released_tables, 25u);
  EXPECT_EQ(v.cells_checked, 100u);
  // The checkpoint on disk is the signed note.
  std::ifstream in(dir_ + "/log.checkpoint");
  std::string note((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(note, log_->Checkpoint());
  auto body = verifier_.Verify(note);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(body->size, 25u);
  EXPECT_EQ(body->origin, "trelink.test/log");
}

TEST_F(DisclosureLogTest, FlippedByteIsNamed) {
  AppendReleases(10);
  std::vector<std::string> entries = Entries();
  entries[4][entries[4].size() / 2] ^= 0x01;
  LogVerification v = Verify(entries);
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(Has(v, -1, "checkpoint"));
}

TEST_F(DisclosureLogTest, DroppedAndReorderedEntriesAreNamed) {
  AppendReleases(10);
  std::vector<std::string> dropped = Entries();
  dropped.erase(dropped.begin() + 3);
  LogVerification v = Verify(dropped);
  EXPECT_TRUE(Has(v, 3, "sequence"));
  EXPECT_TRUE(Has(v, -1, "checkpoint"));

  std::vector<std::string> reordered = Entries();
  std::swap(reordered[2], reordered[7]);
  v = Verify(reordered);
  EXPECT_TRUE(Has(v, 2, "sequence"));
  EXPECT_TRUE(Has(v, 7, "sequence"));
  EXPECT_TRUE(Has(v, -1, "checkpoint"));
}

TEST_F(DisclosureLogTest, TruncatedTailWithAnOldCheckpointFailsConsistency) {
  AppendReleases(6);
  const std::string old_checkpoint = log_->Checkpoint();  // the auditor kept this one
  AppendReleases(6);
  // The operator cuts the log back to 6 entries and presents the old
  // checkpoint as current: the auditor's later checkpoint says otherwise.
  const std::string later = log_->Checkpoint();
  std::vector<std::string> truncated = Entries();
  truncated.resize(6);
  LogVerification v = VerifyDisclosureLog(truncated, old_checkpoint, verifier_, later);
  EXPECT_TRUE(Has(v, -1, "consistency"));
  // With the later checkpoint as the current one, the cut is named too.
  v = VerifyDisclosureLog(truncated, later, verifier_, old_checkpoint);
  EXPECT_TRUE(Has(v, -1, "checkpoint"));
  // Untampered: consistent with the earlier checkpoint.
  EXPECT_TRUE(VerifyDisclosureLog(Entries(), later, verifier_, old_checkpoint).ok());
}

TEST_F(DisclosureLogTest, CheckpointForgedWithAnotherKeyIsRejected) {
  AppendReleases(3);
  auto forger = NoteSigner::Generate("trelink.test/log");  // same name, other key
  const std::string forged = forger->Sign({"trelink.test/log", 3, log_->Root()});
  LogVerification v = VerifyDisclosureLog(Entries(), forged, verifier_);
  EXPECT_TRUE(Has(v, -1, "checkpoint"));
  EXPECT_NE(v.problems[0].detail.find("no valid signature"), std::string::npos);
}

TEST_F(DisclosureLogTest, AnEntryReleasingACellOfThreeIsNamedEvenWhenSigned) {
  AppendReleases(4);
  trelink::v1::LogEntry bad = Release(99);
  auto* cell = bad.mutable_table()->mutable_cells(0);
  cell->set_status(trelink::v1::RELEASED);
  cell->set_count(3);
  ASSERT_THAT(log_->Append(bad), IsOk());  // even a correctly signed log
  AppendReleases(1);
  LogVerification v = Verify(Entries());
  EXPECT_TRUE(Has(v, 4, "policy"));
  bool named = false;
  for (const auto& p : v.problems) named = named || p.detail.find("below the threshold 10") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST_F(DisclosureLogTest, ALoneSuppressedCellInALineIsNamed) {
  trelink::v1::LogEntry bad = Release(1);
  bad.mutable_table()->mutable_cells(1)->set_status(trelink::v1::ROUNDED);  // B released: A recoverable
  bad.mutable_table()->mutable_cells(1)->set_count(15);
  ASSERT_THAT(log_->Append(bad), IsOk());
  LogVerification v = Verify(Entries());
  EXPECT_TRUE(Has(v, 0, "policy"));
}

// Found by fuzz/log_entry_fuzzer: a table cell with fewer values than the
// table has dimensions made the verifier index past the end of the values.
TEST_F(DisclosureLogTest, ACellWithoutAValuePerDimensionIsNamed) {
  trelink::v1::LogEntry bad = Release(1);
  bad.mutable_table()->add_dimensions("year");  // the cells keep one value each
  ASSERT_THAT(log_->Append(bad), IsOk());
  LogVerification v = Verify(Entries());
  EXPECT_TRUE(Has(v, 0, "policy"));
  bool named = false;
  for (const auto& p : v.problems) named = named || p.detail.find("1 values for 2 dimensions") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST_F(DisclosureLogTest, ACrashMidAppendLeavesALogThatVerifies) {
  AppendReleases(5);
  const std::string note = log_->Checkpoint();
  log_.reset();
  {  // half a record: what a crash between write and fsync can leave
    std::ofstream out(dir_ + "/log", std::ios::binary | std::ios::app);
    out << std::string("\x40\x00\x00\x00partial", 11);
  }
  uint64_t partial = 0;
  auto entries = ReadLogEntries(dir_ + "/log", &partial);
  ASSERT_THAT(entries, IsOk());
  EXPECT_EQ(entries->size(), 5u);
  EXPECT_EQ(partial, 11u);
  EXPECT_TRUE(VerifyDisclosureLog(*entries, note, verifier_).ok());
  // Reopening drops the partial record and appends after it.
  auto signer = NoteSigner::Generate("trelink.test/log");
  auto reopened = DisclosureLog::Open(dir_ + "/log", *std::move(signer));
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->size(), 5u);
  trelink::v1::LogEntry next = Release(6);
  ASSERT_THAT((*reopened)->Append(next), IsOk());
  EXPECT_EQ(next.index(), 5u);
  EXPECT_EQ(ReadLogEntries(dir_ + "/log", &partial)->size(), 6u);
  EXPECT_EQ(partial, 0u);
}

TEST(NoteTest, VerifierKeyRoundTripsAndSigningKeyFileIsSecret) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  auto signer = NoteSigner::Generate("trelink.test/log");
  ASSERT_THAT(signer, IsOk());
  ASSERT_THAT(signer->Save(dir + "/log.key"), IsOk());
  auto loaded = NoteSigner::Load(dir + "/log.key");
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->verifier().Encode(), signer->verifier().Encode());
  auto parsed = NoteVerifier::Parse(signer->verifier().Encode());
  ASSERT_THAT(parsed, IsOk());
  const std::string note = loaded->Sign({"trelink.test/log", 7, LeafHash("x")});
  EXPECT_THAT(parsed->Verify(note), IsOk());
  std::string tampered = note;
  tampered[tampered.find('7')] = '8';
  EXPECT_FALSE(parsed->Verify(tampered).ok());
}

}  // namespace
}  // namespace trelink
