// Several linkers against one PostgreSQL database: providers ingest through
// two linker processes at the same time, one of them links, and the other
// serves the same linkage. Real binaries, mTLS, a real PostgreSQL server.
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/store/postgres_linked_store.h"
#include "common/time/clock.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/postgres_database.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::ServiceProcess;
using ::trelink::testing::TlsFlags;

std::unique_ptr<trelink::v1::LinkageService::Stub> LinkerStub(int port, const std::string& identity) {
  return trelink::v1::LinkageService::NewStub(::trelink::testing::TestChannel(port, identity));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StoreReplicasTest, TwoLinkersIngestIntoOneDatabaseAtOnceAndShareTheLinkage) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  const std::string database_url = ::trelink::testing::NewPostgresDatabase();
  ASSERT_FALSE(database_url.empty());
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir, database_url));
  std::ofstream(dir + "/linker2.textproto")
      << absl::StrReplaceAll(ReadFile(dir + "/linker.textproto"), {{"\"linker.port\"", "\"linker2.port\""}});
  ProcessResult synth = RunCommand(BinaryDir() + "/trelink-synth", {"--mothers", "600", "--seed", "3", "--out", dir}, dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.stderr_text;

  std::map<std::string, int> ports;
  std::vector<ServiceProcess> services;
  for (const auto& [binary, name] : std::vector<std::pair<std::string, std::string>>{
           {"pseudonymiser", "pseudonymiser"}, {"linker", "linker"}, {"linker", "linker2"}}) {
    auto process = ServiceProcess::Start(BinaryDir() + "/trelink-" + binary, {"--config", name + ".textproto"}, dir);
    ASSERT_THAT(process, IsOk());
    auto port = process->WaitUntilServing(name + ".port", "linkage-admin", absl::Seconds(30));
    ASSERT_THAT(port, IsOk()) << name;
    ports[name] = *port;
    services.push_back(*std::move(process));
  }
  auto endpoints = [&](const std::string& linker) {
    return std::vector<std::string>{"--pseudonymiser", absl::StrCat("127.0.0.1:", ports.at("pseudonymiser")),
                                    "--linker",        absl::StrCat("127.0.0.1:", ports.at(linker)),
                                    "--catalogue",     std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto",
                                    "--project",       "demo"};
  };
  auto ingest = [&](const std::string& linker, const std::string& dataset, const std::string& provider) {
    return RunCommand(BinaryDir() + "/trelink-cli",
                      Concat(Concat({"ingest", "--dataset", dataset, "--csv", dir + "/" + dataset + ".csv",
                                     "--batch_size", "40"},
                                    endpoints(linker)),
                             TlsFlags(provider)),
                      dir);
  };

  // Small batches through both linkers at once, so their transactions
  // interleave.
  ProcessResult maternity, social_care, court;
  std::thread first([&] { maternity = ingest("linker", "maternity", "provider.maternity"); });
  std::thread second([&] {
    social_care = ingest("linker2", "social_care", "provider.social-care");
    court = ingest("linker2", "court", "provider.court");
  });
  first.join();
  second.join();
  for (const ProcessResult* result : {&maternity, &social_care, &court}) {
    ASSERT_EQ(result->exit_code, 0) << result->stderr_text;
  }
  // A batch stored through one linker is known to the other.
  ProcessResult resent = ingest("linker2", "maternity", "provider.maternity");
  ASSERT_EQ(resent.exit_code, 0) << resent.stderr_text;
  EXPECT_NE(resent.stdout_text.find("0 batches stored"), std::string::npos) << resent.stdout_text;

  auto link = [&](const std::string& linker) {
    return RunCommand(BinaryDir() + "/trelink-cli",
                      Concat(Concat({"link"}, FlagsFor("link", endpoints(linker))), TlsFlags("linkage-admin")), dir);
  };
  ProcessResult linked = link("linker2");
  ASSERT_EQ(linked.exit_code, 0) << linked.stderr_text;
  EXPECT_NE(linked.stdout_text.find("linkage generation 1"), std::string::npos) << linked.stdout_text;

  // The other linker serves the same linkage, with every record of the
  // truth file in it.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  trelink::v1::GetLinkageReportRequest request;
  request.set_project("demo");
  trelink::v1::LinkageReport report;
  grpc::Status status = LinkerStub(ports.at("linker"), "auditor")->GetLinkageReport(&context, request, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(report.generation(), 1u);
  ::trelink::testing::ExpectReportMatchesTruth(report, ::trelink::testing::ReadTruthCounts(dir + "/truth.csv"));

  // While another linker sharing the database links the project (here the
  // test holds its lease), a linkage run is refused, and nothing is saved.
  {
    const FixedClock clock(absl::Now());
    auto store = PostgresLinkedStore::Open(database_url, clock);
    ASSERT_THAT(store.status(), IsOk());
    auto lease = (*store)->LeaseLinkage("demo");
    ASSERT_THAT(lease.status(), IsOk());
    ProcessResult refused = link("linker");
    EXPECT_NE(refused.exit_code, 0) << refused.stdout_text;
    EXPECT_NE(refused.stderr_text.find("a linkage run is in progress on another linker"), std::string::npos)
        << refused.stderr_text;
    EXPECT_EQ((*(*store)->LatestReport("demo"))->generation(), 1u);
  }

  // Linking through the first linker continues from the second's
  // generation. It holds no linkage state of its own, so it links in full
  // (an incremental run needs the state of the run before it), and every
  // person keeps its id.
  ProcessResult again = link("linker");
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_NE(again.stdout_text.find("linkage generation 2"), std::string::npos) << again.stdout_text;
  EXPECT_EQ(again.stdout_text.find("incremental:"), std::string::npos) << again.stdout_text;
  EXPECT_NE(again.stdout_text.find(absl::StrCat("person ids: kept ", report.persons().value(), ", new 0, merged away 0, "
                                                "split off 0, left 0")),
            std::string::npos)
      << again.stdout_text;

  for (ServiceProcess& service : services) EXPECT_EQ(service.Stop().exit_code, 0);
}

}  // namespace
}  // namespace trelink
