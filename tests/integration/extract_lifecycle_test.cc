// A provider's month-to-month workflow against the real pseudonymiser and
// linker, through trelink-cli over mTLS: two monthly extracts of one
// dataset, a resent extract, a correction and a withdrawal.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/store/open_linked_store.h"
#include "tests/support/deployment.h"
#include "tests/support/postgres_database.h"
#include "tests/support/sample_batches.h"
#include "tests/support/service_process.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::TlsFlags;

constexpr char kHeader[] =
    "record_id,mother_nhs_number,mother_given_name,mother_family_name,mother_dob,mother_postcode,"
    "baby_given_name,baby_dob,baby_sex,event,event_date,region";

// A booking of a distinct mother per record id.
std::string Booking(int id, const std::string& event_date = "2020-01-05") {
  return absl::StrCat("M", id, ",", ::trelink::testing::SeriesNhsNumber(id), ",Amelia,Family", id, ",1991-03-", 10 + id % 18, ",LS6 1AN,,,,booking,", event_date,
                      ",E12000003");
}

// Each test runs with the linked store in SQLite and in PostgreSQL.
class ExtractLifecycleTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    if (GetParam() == "postgres") {
      database_url_ = ::trelink::testing::NewPostgresDatabase();
      ASSERT_FALSE(database_url_.empty());
    }
    ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir_, database_url_));
    ASSERT_TRUE(::trelink::testing::StartServices(dir_, {"pseudonymiser", "linker"}, services_));
  }

  void WriteCsv(const std::string& name, const std::string& header, const std::vector<std::string>& rows) {
    std::ofstream csv(dir_ + "/" + name, std::ios::binary | std::ios::trunc);
    csv << header << "\n";
    for (const std::string& row : rows) csv << row << "\n";
  }

  ProcessResult Cli(const std::string& command, const std::vector<std::string>& flags, const std::string& identity) {
    ProcessResult result = RunCommand(BinaryDir() + "/trelink-cli",
                                      Concat(Concat(Concat({command}, flags), FlagsFor(command, services_.CliEndpoints())), TlsFlags(identity)),
                                      dir_);
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.stderr_text;
    return result;
  }
  ProcessResult Ingest(const std::string& csv, const std::string& extract) {
    return Cli("ingest", {"--dataset", "maternity", "--csv", csv, "--extract", extract, "--batch_size", "5"},
               "provider.maternity");
  }

  // The person of every live record of the latest generation, as a sorted
  // list (records have no provider id in the store, only keyed tokens).
  std::vector<int64_t> PersonsOfLatestGeneration() {
    auto store = OpenLinkedStore(database_url_.empty() ? dir_ + "/linked.db" : "", database_url_, Clock::System());
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    auto assignments = (*store)->CurrentAssignments("demo");
    EXPECT_TRUE(assignments.ok()) << assignments.status();
    std::set<int64_t> persons;
    if (assignments.ok()) {
      for (const PersonAssignment& a : *assignments) persons.insert(static_cast<int64_t>(a.person_id));
    }
    return {persons.begin(), persons.end()};
  }

  void RestartPseudonymiser() {
    services_.processes.front().Stop();  // started first; stays in the list, stopped
    ::trelink::testing::RunningServices restarted;
    ASSERT_TRUE(::trelink::testing::StartServices(dir_, {"pseudonymiser"}, restarted));
    services_.ports["pseudonymiser"] = restarted.ports.at("pseudonymiser");
    services_.processes.push_back(std::move(restarted.processes.front()));
  }

  std::string dir_;
  std::string database_url_;  // empty: SQLite
  ::trelink::testing::RunningServices services_;
};

TEST_P(ExtractLifecycleTest, MonthlyExtractsCorrectionsAndAWithdrawalReachLinkage) {
  std::vector<std::string> october;
  for (int i = 0; i < 12; ++i) october.push_back(Booking(i));
  WriteCsv("october.csv", kHeader, october);
  ProcessResult first = Ingest("october.csv", "2026-10");
  EXPECT_NE(first.stdout_text.find("3 batches stored, 0 already stored"), std::string::npos) << first.stdout_text;

  // Resending the extract stores nothing; the same file under the next
  // month's name would have been new batches, so names matter.
  ProcessResult resent = Ingest("october.csv", "2026-10");
  EXPECT_NE(resent.stdout_text.find("0 batches stored, 3 already stored"), std::string::npos) << resent.stdout_text;

  // November corrects M11's event date and adds M12, M13.
  WriteCsv("november.csv", kHeader, {Booking(11, "2020-01-06"), Booking(12), Booking(13)});
  ProcessResult november = Ingest("november.csv", "2026-11");
  EXPECT_NE(november.stdout_text.find("1 batches stored"), std::string::npos) << november.stdout_text;
  EXPECT_NE(november.stdout_text.find("corrections       1 records"), std::string::npos) << november.stdout_text;

  WriteCsv("withdraw.csv", "record_id", {"M0", "M5", "M99"});
  ProcessResult withdrawn = Cli("withdraw", {"--dataset", "maternity", "--csv", "withdraw.csv"}, "provider.maternity");
  EXPECT_NE(withdrawn.stdout_text.find("withdrawn now     2"), std::string::npos) << withdrawn.stdout_text;
  EXPECT_NE(withdrawn.stdout_text.find("not found         1"), std::string::npos) << withdrawn.stdout_text;
  ProcessResult again = Cli("withdraw", {"--dataset", "maternity", "--csv", "withdraw.csv"}, "provider.maternity");
  EXPECT_NE(again.stdout_text.find("withdrawn before  2"), std::string::npos) << again.stdout_text;

  // The TRE applies the national data opt-out: M7's mother, one number of
  // nobody here, and one that is not an NHS number.
  WriteCsv("opt-out.csv", "nhs_number",
           {::trelink::testing::SeriesNhsNumber(7), ::trelink::testing::SeriesNhsNumber(500), "1234567890"});
  // The invalid one is left out: exit code 3 says so, unless allowed.
  const std::vector<std::string> opt_out_args = Concat(
      Concat({"opt-out", "--csv", "opt-out.csv", "--list_version", "2026-11"}, FlagsFor("opt-out", services_.CliEndpoints())),
      TlsFlags("linkage-admin"));
  ProcessResult opt_out = RunCommand(BinaryDir() + "/trelink-cli", opt_out_args, dir_);
  EXPECT_EQ(opt_out.exit_code, 3) << opt_out.stderr_text;
  EXPECT_NE(opt_out.stdout_text.find("numbers read      3, 1 not valid"), std::string::npos) << opt_out.stdout_text;
  EXPECT_NE(opt_out.stdout_text.find("in the list       2 distinct"), std::string::npos) << opt_out.stdout_text;
  EXPECT_NE(opt_out.stdout_text.find("active list       2026-11"), std::string::npos) << opt_out.stdout_text;

  // 14 record ids delivered, M11 twice; two withdrawn: 12 records link, and
  // M7's leaves the generation.
  ProcessResult link = Cli("link", {}, "linkage-admin");
  EXPECT_NE(link.stdout_text.find("records 12, participants 12,"), std::string::npos) << link.stdout_text;
  EXPECT_NE(link.stdout_text.find("national data opt-out: list 2026-11 (2 numbers); persons excluded <suppressed>; "
                                  "records excluded maternity <suppressed>"),
            std::string::npos)
      << link.stdout_text;
  // The linker keeps the linkage: linking again with nothing changed links
  // nobody, and --full links everything afresh.
  ProcessResult unchanged = Cli("link", {}, "linkage-admin");
  EXPECT_NE(unchanged.stdout_text.find("records 12, participants 12,"), std::string::npos) << unchanged.stdout_text;
  EXPECT_NE(unchanged.stdout_text.find("incremental: linked 0 new or released participants"), std::string::npos)
      << unchanged.stdout_text;
  ProcessResult full = Cli("link", {"--full"}, "linkage-admin");
  EXPECT_NE(full.stdout_text.find("records 12, participants 12,"), std::string::npos) << full.stdout_text;
  EXPECT_EQ(full.stdout_text.find("incremental:"), std::string::npos) << full.stdout_text;

  // Another provider cannot withdraw maternity records.
  ProcessResult refused = RunCommand(
      BinaryDir() + "/trelink-cli",
      Concat(Concat({"withdraw", "--dataset", "maternity", "--csv", "withdraw.csv"}, FlagsFor("withdraw", services_.CliEndpoints())),
             TlsFlags("provider.court")),
      dir_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.stderr_text.find("PERMISSION_DENIED"), std::string::npos) << refused.stderr_text;
}

// Rotating the master key: a new primary version, every record sent again
// under it, the opt-out list applied again; persons keep their ids.
TEST_P(ExtractLifecycleTest, AKeyRotationKeepsPersonIdsAndNeedsTheOptOutAppliedAgain) {
  std::vector<std::string> rows;
  for (int i = 0; i < 12; ++i) rows.push_back(Booking(i));
  WriteCsv("maternity.csv", kHeader, rows);
  Ingest("maternity.csv", "2026-10");
  WriteCsv("opt-out.csv", "nhs_number", {::trelink::testing::SeriesNhsNumber(7)});
  Cli("opt-out", {"--csv", "opt-out.csv", "--list_version", "2026-11"}, "linkage-admin");
  Cli("link", {}, "linkage-admin");
  const std::vector<int64_t> before = PersonsOfLatestGeneration();
  ASSERT_EQ(before.size(), 11u);  // twelve mothers, one opted out

  ProcessResult rotate =
      RunCommand(BinaryDir() + "/trelink-keygen", {"rotate", "--keyset", "master.keyset"}, dir_);
  ASSERT_EQ(rotate.exit_code, 0) << rotate.stderr_text;
  RestartPseudonymiser();
  ProcessResult info = Cli("key-info", {}, "provider.maternity");
  EXPECT_NE(info.stdout_text.find("key version 2 (primary)"), std::string::npos) << info.stdout_text;

  // Every record again under version 2: each replaces its version-1 delivery.
  ProcessResult resent = Ingest("maternity.csv", "rekey-v2");
  EXPECT_NE(resent.stdout_text.find("corrections       12 records"), std::string::npos) << resent.stdout_text;

  // The opt-out list is still keyed with version 1: linking now would let
  // the opted-out mother back in, so it is refused until the list is
  // applied again.
  ProcessResult refused = RunCommand(
      BinaryDir() + "/trelink-cli", Concat(Concat({"link"}, FlagsFor("link", services_.CliEndpoints())), TlsFlags("linkage-admin")), dir_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.stderr_text.find("apply the opt-out list again"), std::string::npos) << refused.stderr_text;
  Cli("opt-out", {"--csv", "opt-out.csv", "--list_version", "2026-11"}, "linkage-admin");

  ProcessResult link = Cli("link", {}, "linkage-admin");
  EXPECT_NE(link.stdout_text.find("records 12,"), std::string::npos) << link.stdout_text;
  EXPECT_EQ(PersonsOfLatestGeneration(), before);
}

INSTANTIATE_TEST_SUITE_P(BothStores, ExtractLifecycleTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace trelink
