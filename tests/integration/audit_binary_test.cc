// trelink-audit fetch against the real aggregator: a missing output
// directory is created, and a directory or disk that cannot take the files
// makes the command fail, instead of reporting a fetch that wrote nothing.
// trelink-audit verify on a log with dp answers: it reports each project's
// spent budget and names a tampered charge.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/disclosure_log/disclosure_log.h"
#include "tests/support/deployment.h"
#include "tests/support/file_size_limit.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/log_entries.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/aggregate.grpc.pb.h"
#include "trelink/v1/disclosure_log.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::Concat;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::ServiceProcess;
using ::trelink::testing::TlsFlags;

constexpr int kEntries = 20;

class AuditFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir_));
    RewriteConfig();
    {  // entries to fetch (about 5 kB), logged before the aggregator opens the log
      auto signer = NoteSigner::Load(dir_ + "/log.key");
      ASSERT_THAT(signer, IsOk());
      auto log = DisclosureLog::Open(dir_ + "/disclosure.log", *std::move(signer));
      ASSERT_THAT(log, IsOk());
      for (int i = 0; i < kEntries; ++i) {
        trelink::v1::LogEntry entry = ::trelink::testing::RefusalEntry(i, 200);
        ASSERT_THAT((*log)->Append(entry), IsOk());
      }
    }
    auto process = ServiceProcess::Start(BinaryDir() + "/trelink-aggregator", {"--config", "aggregator.textproto"}, dir_);
    ASSERT_THAT(process, IsOk());
    aggregator_.emplace(*std::move(process));
    auto port = aggregator_->WaitUntilServing("aggregator.port", "auditor", absl::Seconds(30));
    ASSERT_THAT(port, IsOk());
    port_ = *port;
    // The commands' stdout.txt and stderr.txt go here, apart from the service's.
    ASSERT_EQ(mkdir(cli_dir().c_str(), 0700), 0);
  }

  // Lets a test change the aggregator's config before it starts.
  virtual void RewriteConfig() {}

  void TearDown() override {
    if (aggregator_) {
      EXPECT_EQ(aggregator_->Stop().exit_code, 0);
    }
  }

  ProcessResult Fetch(const std::string& out) const {
    return RunCommand(BinaryDir() + "/trelink-audit",
                      Concat({"fetch", "--aggregator", absl::StrCat("127.0.0.1:", port_), "--out", out},
                             TlsFlags("auditor")),
                      cli_dir());
  }

  std::string cli_dir() const { return dir_ + "/cli"; }

  // A failed fetch: non-zero, the reason on stderr, no claim of success.
  static void ExpectFailed(const ProcessResult& fetch, const std::string& reason) {
    EXPECT_EQ(fetch.exit_code, 1);
    EXPECT_NE(fetch.stderr_text.find(reason), std::string::npos) << fetch.stderr_text;
    EXPECT_EQ(fetch.stdout_text.find("fetched"), std::string::npos) << fetch.stdout_text;
  }

  std::string dir_;
  int port_ = 0;
  std::optional<ServiceProcess> aggregator_;
};

TEST_F(AuditFetchTest, AMissingOutputDirectoryIsCreated) {
  const std::string out = dir_ + "/audit/2026-11";
  ProcessResult fetch = Fetch(out);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.stderr_text;
  EXPECT_NE(fetch.stdout_text.find(absl::StrCat("fetched ", kEntries, " entries")), std::string::npos);
  ProcessResult verified = RunCommand(BinaryDir() + "/trelink-audit",
                                      {"verify", "--log", out + "/disclosure.log", "--checkpoint", out + "/checkpoint",
                                       "--pubkey", dir_ + "/log.pub"},
                                      cli_dir());
  EXPECT_EQ(verified.exit_code, 0) << verified.stdout_text << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find(absl::StrCat(kEntries, " entries")), std::string::npos) << verified.stdout_text;
}

TEST_F(AuditFetchTest, AnOutputThatCannotBeWrittenFailsTheFetch) {
  std::ofstream(dir_ + "/plain") << "a file, not a directory\n";
  ExpectFailed(Fetch(dir_ + "/plain/audit"), "--out " + dir_ + "/plain/audit");

  ASSERT_EQ(mkdir((dir_ + "/taken").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir_ + "/taken/disclosure.log").c_str(), 0700), 0);
  ExpectFailed(Fetch(dir_ + "/taken"), "cannot create " + dir_ + "/taken/disclosure.log");

  ProcessResult full;
  {
    ::trelink::testing::FileSizeLimit limit(1024);  // inherited by trelink-audit
    full = Fetch(dir_ + "/full");
  }
  ExpectFailed(full, "cannot write " + dir_ + "/full/disclosure.log");
}

// Issue 12, item 4: an auditor certificate mapped only to project "other"
// read project demo's log. The log holds every project the aggregator
// serves, so an auditor must hold each of them (or "*").
class AuditProjectTest : public AuditFetchTest {
 protected:
  void RewriteConfig() override {
    const std::string path = dir_ + "/aggregator.textproto";
    std::ifstream in(path);
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string auditor = "identity: \"auditor\" role: AUDITOR projects: \"*\"";
    const size_t at = config.find(auditor);
    ASSERT_NE(at, std::string::npos);
    config.replace(at, auditor.size(), "identity: \"auditor\" role: AUDITOR projects: \"demo\" projects: \"other\"");
    const std::string analyst = "identity: \"analyst\" role: ANALYST projects: \"demo\"";
    const size_t analyst_at = config.find(analyst);
    ASSERT_NE(analyst_at, std::string::npos);
    config.replace(analyst_at, analyst.size(), "identity: \"analyst\" role: ANALYST projects: \"*\"");
    std::ofstream(path) << config << "projects: \"pilot\"\n";  // serves demo and pilot
  }
};

TEST_F(AuditProjectTest, AnAuditorMustHoldEveryProjectTheAggregatorServes) {
  ExpectFailed(Fetch(dir_ + "/audit"), "may not act on project \"pilot\"");
  auto stub = trelink::v1::AuditService::NewStub(::trelink::testing::TestChannel(port_, "auditor"));
  grpc::ClientContext context;
  ::trelink::testing::WithDeadline(context);
  trelink::v1::Checkpoint checkpoint;
  grpc::Status status = stub->GetCheckpoint(&context, {}, &checkpoint);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(checkpoint.signed_note().empty());
  grpc::ClientContext proof_context;
  ::trelink::testing::WithDeadline(proof_context);
  trelink::v1::GetInclusionProofRequest request;
  request.set_index(0);
  request.set_tree_size(kEntries);
  trelink::v1::Proof proof;
  status = stub->GetInclusionProof(&proof_context, request, &proof);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  // Nor may an analyst, even one holding "*", have tables of a project not
  // served here written to a log whose auditors need not hold it.
  trelink::v1::CountQuery query;
  query.set_name("q");
  query.set_project("other");
  trelink::v1::CountTable table;
  status = ::trelink::testing::Count(port_, "analyst", query, table);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_NE(status.error_message().find("project \"other\" is not served by this aggregator"), std::string::npos)
      << status.error_message();
}

// A signed log of both modes written here, verified by the real binary.
class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::trelink::testing::MakeTempDir(); }

  ProcessResult VerifyLog(const std::vector<trelink::v1::LogEntry>& entries, bool json = false) {
    auto signer = NoteSigner::Generate("trelink.test/log");
    EXPECT_THAT(signer, IsOk());
    std::ofstream(dir_ + "/log.pub") << signer->verifier().Encode();
    const std::string log_path = absl::StrCat(dir_, "/disclosure-", ++logs_, ".log");
    auto log = DisclosureLog::Open(log_path, *std::move(signer));
    EXPECT_THAT(log, IsOk());
    for (trelink::v1::LogEntry entry : entries) EXPECT_THAT((*log)->Append(entry), IsOk());
    std::vector<std::string> args = {"verify", "--log", log_path, "--checkpoint", log_path + ".checkpoint",
                                     "--pubkey", dir_ + "/log.pub"};
    if (json) args.push_back("--json");
    return RunCommand(BinaryDir() + "/trelink-audit", args, dir_);
  }

  std::string dir_;
  int logs_ = 0;
};

TEST_F(AuditVerifyTest, ReportsTheSpentBudgetOfEachDpProject) {
  ProcessResult verified = VerifyLog(::trelink::testing::MixedModeLog());
  EXPECT_EQ(verified.exit_code, 0) << verified.stdout_text << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("\nproject demo-dp: epsilon 1.5 of 2 spent over 4 answers (1 repeat)\n"),
            std::string::npos)
      << verified.stdout_text;
  EXPECT_EQ(verified.stdout_text.find("project demo:"), std::string::npos) << verified.stdout_text;

  ProcessResult json = VerifyLog(::trelink::testing::MixedModeLog(), true);
  EXPECT_EQ(json.exit_code, 0) << json.stdout_text;
  EXPECT_NE(json.stdout_text.find("\"budgets\": {\"demo-dp\": {\"spent_micro\": 1500000, \"budget_micro\": 2000000, "
                                  "\"dp_answers\": 4, \"repeats\": 1, \"broken_at\": -1}}"),
            std::string::npos)
      << json.stdout_text;
}

TEST_F(AuditVerifyTest, ATamperedChargeFailsNamingTheEntry) {
  std::vector<trelink::v1::LogEntry> log = ::trelink::testing::MixedModeLog();
  log[2].mutable_privacy()->set_spent_micro(1000001);
  ProcessResult verified = VerifyLog(log);
  EXPECT_EQ(verified.exit_code, 1) << verified.stdout_text << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("\nFAIL budget (entry 2): entry 2 (project demo-dp): says 1000001 "
                                      "micro-epsilon spent; the log adds up to 1000000\n"),
            std::string::npos)
      << verified.stdout_text;
  EXPECT_NE(verified.stdout_text.find("project demo-dp: epsilon 0.5 of 2 spent over 1 answer (0 repeats); the ledger "
                                      "breaks at entry 2, later entries not replayed\n"),
            std::string::npos)
      << verified.stdout_text;
  EXPECT_NE(verified.stdout_text.find("FAILED"), std::string::npos) << verified.stdout_text;
}

TEST_F(AuditVerifyTest, AnSdcRepeatMustCarryTheEarlierTable) {
  trelink::v1::LogEntry repeat = ::trelink::testing::SdcRelease(1);
  repeat.clear_release_audit();
  repeat.set_repeat_of(0);
  ProcessResult verified = VerifyLog({::trelink::testing::SdcRelease(0), repeat});
  EXPECT_EQ(verified.exit_code, 0) << verified.stdout_text << verified.stderr_text;

  // A "repeat" that shows more than the first answer did.
  repeat.mutable_table()->mutable_cells(0)->set_count(5);
  repeat.mutable_table()->mutable_cells(0)->set_status(trelink::v1::ROUNDED);
  verified = VerifyLog({::trelink::testing::SdcRelease(0), repeat});
  EXPECT_EQ(verified.exit_code, 1) << verified.stdout_text << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("entry 1 (project demo): a repeat whose table differs from the earlier answer"),
            std::string::npos)
      << verified.stdout_text;

  // After a policy change the same query is answered afresh, and repeats
  // repeat that answer; a repeat of the old policy's table does not verify.
  trelink::v1::LogEntry renewed = ::trelink::testing::SdcRelease(1);
  renewed.mutable_policy()->set_version("v2");
  renewed.mutable_table()->set_policy_version("v2");
  trelink::v1::LogEntry renewed_repeat = renewed;
  renewed_repeat.clear_release_audit();
  renewed_repeat.set_repeat_of(1);
  verified = VerifyLog({::trelink::testing::SdcRelease(0), renewed, renewed_repeat});
  EXPECT_EQ(verified.exit_code, 0) << verified.stdout_text << verified.stderr_text;
  renewed_repeat.set_repeat_of(0);
  verified = VerifyLog({::trelink::testing::SdcRelease(0), renewed, renewed_repeat});
  EXPECT_EQ(verified.exit_code, 1) << verified.stdout_text << verified.stderr_text;

  // A repeat of nothing.
  repeat = ::trelink::testing::SdcRelease(1);
  repeat.set_repeat_of(7);
  verified = VerifyLog({::trelink::testing::SdcRelease(0), repeat});
  EXPECT_EQ(verified.exit_code, 1) << verified.stdout_text << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("entry 1 (project demo): repeats no earlier answer"), std::string::npos)
      << verified.stdout_text;
}

}  // namespace
}  // namespace trelink
