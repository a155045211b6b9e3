// trelink-audit fetch against the real aggregator: a missing output
// directory is created, and a directory or disk that cannot take the files
// makes the command fail, instead of reporting a fetch that wrote nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/disclosure_log/disclosure_log.h"
#include "tests/support/deployment.h"
#include "tests/support/file_size_limit.h"
#include "tests/support/log_entries.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

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

}  // namespace
}  // namespace trelink
