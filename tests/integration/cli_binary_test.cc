// The real trelink-cli against the real services over mTLS: what a user
// sees when something is wrong (a certificate, a CA, a port, a service),
// JSON and CSV output of real answers, the exit code when rows were left
// out; and a useful --help from every binary.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/deployment.h"
#include "tests/support/service_process.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::CertDir;
using ::trelink::testing::Concat;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::TlsFlags;

ProcessResult Cli(const std::vector<std::string>& args, const std::string& dir) {
  return RunCommand(BinaryDir() + "/trelink-cli", args, dir);
}

TEST(CliBinaryTest, EveryBinaryHelpListsItsFlags) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  const std::vector<std::pair<std::string, std::vector<std::string>>> binaries = {
      {"trelink-pseudonymiser", {"--config"}},
      {"trelink-linker", {"--config"}},
      {"trelink-aggregator", {"--config"}},
      {"trelink-audit", {"--log", "--checkpoint", "--pubkey", "--earlier", "--json", "--aggregator", "--out"}},
      {"trelink-synth", {"--mothers", "--seed", "--out", "--errors"}},
      {"trelink-truth", {"--population", "--catalogue", "--out"}},
      {"trelink-keygen", {"--out", "--public-out", "--keyset", "--name"}},
      {"trelink-cli", {"ingest", "withdraw", "opt-out", "pseudonymise", "link", "report", "query", "catalogue",
                       "key-info", "health", "Exit codes"}},
  };
  for (const auto& [binary, flags] : binaries) {
    ProcessResult help = RunCommand(BinaryDir() + "/" + binary, {"--help"}, dir);
    const std::string text = help.stdout_text + help.stderr_text;
    EXPECT_EQ(text.find("No flags matched"), std::string::npos) << binary;
    for (const std::string& flag : flags) EXPECT_NE(text.find(flag), std::string::npos) << binary << " " << flag;
  }
  ProcessResult ingest = Cli({"ingest", "--help"}, dir);
  EXPECT_EQ(ingest.exit_code, 0);
  EXPECT_NE(ingest.stdout_text.find("--catalogue"), std::string::npos) << ingest.stdout_text;
  EXPECT_NE(ingest.stdout_text.find("Example:"), std::string::npos) << ingest.stdout_text;
}

// A port nothing listens on: bound, then released.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

class CliAgainstServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir_));
    ASSERT_TRUE(::trelink::testing::StartServices(dir_, {"pseudonymiser", "linker", "aggregator"}, services_));
  }
  std::string At(const std::string& service) const {
    return absl::StrCat("127.0.0.1:", services_.ports.at(service));
  }
  std::string dir_;
  ::trelink::testing::RunningServices services_;
};

TEST_F(CliAgainstServicesTest, TlsPortAndServiceProblemsAreExplainedInPlainWords) {
  const std::string certs = CertDir();
  // The servers' CA is not the one given.
  ProcessResult cli = Cli({"key-info", "--pseudonymiser", At("pseudonymiser"), "--ca", certs + "/rogue.pem", "--cert",
                           certs + "/provider.maternity.pem", "--key", certs + "/provider.maternity.key"},
                          dir_);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.stderr_text.find("the server at " + At("pseudonymiser") + " presented a certificate that the CA in --ca " +
                                 certs + "/rogue.pem does not vouch for"),
            std::string::npos)
      << cli.stderr_text;
  // A client certificate from a CA the server does not trust.
  cli = Cli({"key-info", "--pseudonymiser", At("pseudonymiser"), "--ca", certs + "/ca.pem", "--cert",
             certs + "/rogue.pem", "--key", certs + "/rogue.key"},
            dir_);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.stderr_text.find("the server at " + At("pseudonymiser") + " refused this client's certificate --cert " +
                                 certs + "/rogue.pem"),
            std::string::npos)
      << cli.stderr_text;
  // A key that is not the certificate's: refused before connecting.
  cli = Cli({"key-info", "--pseudonymiser", At("pseudonymiser"), "--ca", certs + "/ca.pem", "--cert",
             certs + "/provider.maternity.pem", "--key", certs + "/analyst.key"},
            dir_);
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_NE(cli.stderr_text.find("--key " + certs + "/analyst.key does not belong to --cert " + certs +
                                 "/provider.maternity.pem"),
            std::string::npos)
      << cli.stderr_text;
  // The linker's address given as the pseudonymiser's.
  cli = Cli(Concat({"key-info", "--pseudonymiser", At("linker")}, TlsFlags("provider.maternity")), dir_);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.stderr_text.find("the server at " + At("linker") + " is not a trelink pseudonymiser"), std::string::npos)
      << cli.stderr_text;
  // Nothing listening.
  const std::string closed = absl::StrCat("127.0.0.1:", ClosedPort());
  cli = Cli(Concat({"report", "--linker", closed, "--project", "demo"}, TlsFlags("linkage-admin")), dir_);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.stderr_text.find("nothing answers at " + closed), std::string::npos) << cli.stderr_text;
  for (const ProcessResult& any : {cli}) EXPECT_EQ(any.stderr_text.find("Socket closed"), std::string::npos);
}

TEST_F(CliAgainstServicesTest, JsonAndCsvOfRealAnswersAndTheExitCodeOfRowsLeftOut) {
  {
    std::ofstream csv(dir_ + "/maternity.csv", std::ios::binary);
    csv << "record_id,mother_nhs_number,mother_given_name,mother_family_name,mother_dob,mother_postcode,"
           "baby_given_name,baby_dob,baby_sex,event,event_date,region\n";
    for (int i = 0; i < 12; ++i) {
      csv << "M" << i << ",,Amelia" << char('a' + i) << ",O'Brien,1991-03-" << 10 + i
          << ",LS6 1AN,Olivia,2020-02-11,F,birth,2020-02-11,E12000003\n";
    }
    csv << "M99,,Amelia,O'Brien,1991-02-30,LS6 1AN,,,,birth,2020-02-11,E12000003\n";  // no such date
  }
  const std::vector<std::string> ingest =
      Concat(Concat({"ingest", "--dataset", "maternity", "--csv", "maternity.csv", "--format", "json"},
                    services_.CliEndpoints()),
             TlsFlags("provider.maternity"));
  ProcessResult cli = Cli(ingest, dir_);
  EXPECT_EQ(cli.exit_code, 3) << cli.stderr_text;  // stored, but one row was left out
  EXPECT_NE(cli.stdout_text.find("\"records\":12,"), std::string::npos) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("\"rows_left_out\":1,"), std::string::npos) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("{\"line\":14,\"reason\":\"column mother_dob: not a calendar date\"}"),
            std::string::npos)
      << cli.stdout_text;
  cli = Cli(Concat(ingest, {"--allow-rejected"}), dir_);
  EXPECT_EQ(cli.exit_code, 0) << cli.stderr_text;
  EXPECT_NE(cli.stdout_text.find("\"batches_already_stored\":1"), std::string::npos) << cli.stdout_text;

  cli = Cli(Concat({"link", "--linker", At("linker"), "--project", "demo", "--format", "json"},
                   TlsFlags("linkage-admin")),
            dir_);
  ASSERT_EQ(cli.exit_code, 0) << cli.stderr_text;
  EXPECT_NE(cli.stdout_text.find("\"generation\":1,"), std::string::npos) << cli.stdout_text;
  // 12 records is over the threshold of 10; their participants' count too.
  EXPECT_NE(cli.stdout_text.find("\"records\":{\"value\":12,\"status\":\"released\"}"), std::string::npos)
      << cli.stdout_text;

  cli = Cli(Concat({"report", "--linker", At("linker"), "--project", "demo", "--format", "csv"},
                   TlsFlags("linkage-admin")),
            dir_);
  ASSERT_EQ(cli.exit_code, 0) << cli.stderr_text;
  EXPECT_EQ(cli.stdout_text.rfind("field,value\r\n", 0), 0u) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("\r\ngeneration,1\r\n"), std::string::npos) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("\r\nrecords.value,12\r\n"), std::string::npos) << cli.stdout_text;

  // The aggregator picks up the generation within refresh_seconds.
  const std::vector<std::string> query =
      Concat({"query", "--aggregator", At("aggregator"), "--format", "csv", "--query",
              std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q1_maternal_deaths_social_care.textproto"},
             TlsFlags("analyst"));
  for (int attempt = 0; attempt < 100; ++attempt) {
    cli = Cli(query, dir_);
    if (cli.exit_code == 0 && cli.stdout_text.find("\r\n1,") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(cli.exit_code, 0) << cli.stderr_text;
  EXPECT_EQ(cli.stdout_text.rfind("generation,policy_version,log_index,", 0), 0u) << cli.stdout_text;
  EXPECT_TRUE(std::regex_search(cli.stdout_text, std::regex("\r\n1,test-1,[0-9]+,"))) << cli.stdout_text;

  cli = Cli(Concat({"catalogue", "--aggregator", At("aggregator"), "--project", "demo", "--format", "json"},
                   TlsFlags("analyst")),
            dir_);
  ASSERT_EQ(cli.exit_code, 0) << cli.stderr_text;
  EXPECT_NE(cli.stdout_text.find("\"threshold\":10,"), std::string::npos) << cli.stdout_text;
  EXPECT_NE(cli.stdout_text.find("\"generation\":1,"), std::string::npos) << cli.stdout_text;
}

}  // namespace
}  // namespace trelink
