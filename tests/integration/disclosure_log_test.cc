// The disclosure log and its offline verifier: every tamper of the design
// brief is detected and named, and a crash mid-append leaves a log that
// still verifies.
#include "common/disclosure_log/disclosure_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/disclosure_log/log_verifier.h"
#include "gmock/gmock.h"
#include "tests/support/log_entries.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;

using ::trelink::testing::DpAnswer;
using ::trelink::testing::MixedModeLog;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

trelink::v1::LogEntry Release(int n) { return ::trelink::testing::SdcRelease(n); }

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

  void AppendAll(std::vector<trelink::v1::LogEntry> entries) {
    for (trelink::v1::LogEntry& entry : entries) ASSERT_THAT(log_->Append(entry), IsOk());
  }

  // Every problem as "entry check: detail", to compare whole.
  static std::vector<std::string> Problems(const LogVerification& v) {
    std::vector<std::string> out;
    for (const auto& p : v.problems) out.push_back(absl::StrCat(p.entry, " ", p.check, ": ", p.detail));
    return out;
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
  bad.set_suppression_reasons(0, trelink::v1::NOT_SUPPRESSED);
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
  bad.set_suppression_reasons(1, trelink::v1::NOT_SUPPRESSED);
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

// sdc: the table shows only the statuses an analyst may see, the reasons
// line up with the cells, and the release audit left every protected count
// at least k wide.
TEST_F(DisclosureLogTest, AnSdcReleaseLeakingAStatusIsNamed) {
  trelink::v1::LogEntry bad = Release(0);
  bad.mutable_table()->mutable_cells(0)->set_status(static_cast<trelink::v1::CellStatus>(3));  // a former reason
  AppendAll({bad});
  EXPECT_THAT(Problems(Verify(Entries())),
              ElementsAre("0 policy: cell 0 (A): status 3 is none an analyst may see (RELEASED, ROUNDED or "
                          "SUPPRESSED)"));
}

TEST_F(DisclosureLogTest, MisalignedSuppressionReasonsAreNamed) {
  trelink::v1::LogEntry short_reasons = Release(0);
  short_reasons.mutable_suppression_reasons()->RemoveLast();
  trelink::v1::LogEntry swapped = Release(1);
  swapped.mutable_suppression_reasons()->SwapElements(0, 2);
  AppendAll({short_reasons, swapped});
  EXPECT_THAT(Problems(Verify(Entries())),
              ElementsAre("0 policy: 3 suppression reasons for 4 cells", "1 policy: cell 0: suppressed without a reason",
                          "1 policy: cell 2: released but logged as suppressed (BELOW_THRESHOLD)"));
}

TEST_F(DisclosureLogTest, AReleaseAuditNarrowerThanTheThresholdIsNamed) {
  trelink::v1::LogEntry narrow = Release(0);
  narrow.mutable_release_audit()->set_narrowest_interval(9);
  trelink::v1::LogEntry unaudited = Release(1);
  unaudited.clear_release_audit();
  // Withheld whole, or with nothing to protect, the interval says nothing.
  trelink::v1::LogEntry whole = Release(2);
  whole.mutable_release_audit()->set_narrowest_interval(3);
  whole.mutable_release_audit()->set_whole_table_suppressed(true);
  for (int c : {2, 3}) {
    whole.mutable_table()->mutable_cells(c)->set_status(trelink::v1::SUPPRESSED);
    whole.mutable_table()->mutable_cells(c)->set_count(0);
    whole.set_suppression_reasons(c, trelink::v1::RELEASE_AUDIT);
  }
  trelink::v1::LogEntry nothing_protected = Release(3);
  nothing_protected.mutable_release_audit()->set_protected_counts(0);
  nothing_protected.mutable_release_audit()->set_narrowest_interval(0);
  // A table the audit withheld whole must not show a count.
  trelink::v1::LogEntry not_withheld = Release(4);
  not_withheld.mutable_release_audit()->set_whole_table_suppressed(true);
  AppendAll({narrow, unaudited, whole, nothing_protected, not_withheld});
  EXPECT_THAT(Problems(Verify(Entries())),
              ElementsAre("0 policy: the release audit left a protected count an interval 9 wide, narrower than the "
                          "threshold 10",
                          "1 policy: an sdc release without its release audit summary",
                          "4 policy: cell 2: released although the release audit withheld the whole table",
                          "4 policy: cell 3: released although the release audit withheld the whole table"));
}

// dp: released counts noisy, then thresholded and rounded; margins are sums
// of noisy cells, so a lone suppressed cell in a line is no problem there.
TEST_F(DisclosureLogTest, DpReleasesFollowTheirOwnRules) {
  trelink::v1::LogEntry zero = DpAnswer("a", 500000);
  zero.mutable_table()->mutable_cells(1)->set_count(0);
  trelink::v1::LogEntry off_base = DpAnswer("b", 1000000);
  off_base.mutable_table()->mutable_cells(1)->set_count(37);
  trelink::v1::LogEntry audited = DpAnswer("c", 1500000);
  audited.mutable_release_audit()->set_narrowest_interval(12);
  trelink::v1::LogEntry unexplained = DpAnswer("d", 2000000);
  unexplained.clear_suppression_reasons();
  AppendAll({zero, off_base, audited, unexplained});
  EXPECT_THAT(Problems(Verify(Entries())),
              ElementsAre("0 policy: cell 1 (B): released count 0 is below the threshold 10",
                          "1 policy: cell 1 (B): released count 37 is not a multiple of 5",
                          "2 policy: a dp release carries a release audit summary",
                          "3 policy: 0 suppression reasons for 3 cells"));
}

TEST_F(DisclosureLogTest, TheDpLedgerReplaysAndReportsTheSpentBudget) {
  AppendAll(MixedModeLog());
  LogVerification v = Verify(Entries());
  EXPECT_THAT(Problems(v), IsEmpty());
  EXPECT_EQ(v.released_tables, 5u);
  EXPECT_EQ(v.refusals, 1u);
  ASSERT_EQ(v.budgets.size(), 1u);  // the sdc project has no budget
  const ProjectBudget& budget = v.budgets.at("demo-dp");
  EXPECT_EQ(budget.spent_micro, 1500000u);
  EXPECT_EQ(budget.budget_micro, 2000000u);
  EXPECT_EQ(budget.dp_answers, 4u);
  EXPECT_EQ(budget.repeats, 1u);
  EXPECT_EQ(budget.broken_at, -1);
}

// Each tampered charge is named with its entry; the project's ledger is not
// replayed past it (its later totals would all be off by the same amount).
TEST_F(DisclosureLogTest, ATamperedChargeIsNamed) {
  struct Tamper {
    std::string name;
    void (*apply)(std::vector<trelink::v1::LogEntry>&);
    std::string problem;
    uint64_t spent_before;
  };
  const std::vector<Tamper> tampers = {
      {"spent off by one", [](auto& log) { log[2].mutable_privacy()->set_spent_micro(1000001); },
       "2 budget: entry 2 (project demo-dp): says 1000001 micro-epsilon spent; the log adds up to 1000000", 500000},
      {"a charged repeat",
       [](auto& log) {
         log[3].mutable_privacy()->set_charged_micro(500000);
         log[3].mutable_privacy()->set_spent_micro(1500000);
       },
       "3 budget: entry 3 (project demo-dp): a repeat was charged", 1000000},
      {"a repeat with another table", [](auto& log) { log[3].mutable_table()->mutable_cells(1)->set_count(40); },
       "3 budget: entry 3 (project demo-dp): a repeat whose table differs from the earlier answer", 1000000},
      {"a repeat of another query's answer", [](auto& log) { log[3].mutable_privacy()->set_repeat_of(2); },
       "3 budget: entry 3 (project demo-dp): repeats no earlier answer", 1000000},
      {"over budget",
       [](auto& log) {
         log.push_back(DpAnswer("d", 2000000));  // exactly the budget: allowed
         log.push_back(DpAnswer("e", 2500000));
       },
       "7 budget: entry 7 (project demo-dp): the privacy budget was exceeded", 2000000},
  };
  for (const Tamper& tamper : tampers) {
    SCOPED_TRACE(tamper.name);
    SetUp();  // a fresh log
    std::vector<trelink::v1::LogEntry> log = MixedModeLog();
    tamper.apply(log);
    AppendAll(log);
    LogVerification v = Verify(Entries());
    EXPECT_THAT(Problems(v), ElementsAre(tamper.problem));
    const ProjectBudget& budget = v.budgets.at("demo-dp");
    EXPECT_EQ(budget.broken_at, v.problems.at(0).entry);
    EXPECT_EQ(budget.spent_micro, tamper.spent_before);
  }
}

// A charge in an sdc entry is named too (sdc projects have no ledger).
TEST_F(DisclosureLogTest, AChargeOutsideDpModeIsNamed) {
  trelink::v1::LogEntry charged = Release(0);
  *charged.mutable_privacy() = DpAnswer("a", 500000).privacy();
  AppendAll({charged});
  LogVerification v = Verify(Entries());
  EXPECT_THAT(Problems(v), ElementsAre("0 budget: entry 0 (project demo): a charge outside dp mode"));
  EXPECT_THAT(v.budgets, IsEmpty());
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
