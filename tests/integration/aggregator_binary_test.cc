// End to end for researchers and auditors: the three real services with
// mTLS, a synthetic population ingested and linked, Q1-Q7 answered through
// Count as an analyst and checked against the ground truth and the policy,
// then the disclosure log fetched by an auditor, verified offline, tampered
// with, and the tamper detected.
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/text_config.h"
#include "common/server/tls.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/postgres_database.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/aggregate.grpc.pb.h"
#include "trelink/v1/disclosure_log.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::CertDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::Count;
using ::trelink::testing::TlsFlags;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::ServiceProcess;

std::map<std::string, uint64_t> ReadTruth(const std::string& path) {
  std::map<std::string, uint64_t> truth;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const size_t comma = line.rfind(',');
    truth[line.substr(0, comma)] = std::stoull(line.substr(comma + 1));
  }
  return truth;
}

// With the linked store in SQLite, and in PostgreSQL.
class AggregatorEndToEndTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AggregatorEndToEndTest, QuestionsAnsweredUnderControlLoggedAndAudited) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  std::string database_url;
  if (GetParam() == "postgres") {
    database_url = ::trelink::testing::NewPostgresDatabase();
    ASSERT_FALSE(database_url.empty());
  }
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir, database_url));
  ProcessResult synth =
      RunCommand(BinaryDir() + "/trelink-synth", {"--mothers", "4000", "--seed", "5", "--out", dir}, dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.stderr_text;

  std::vector<ServiceProcess> services;
  std::map<std::string, int> ports;
  for (const std::string name : {"pseudonymiser", "linker", "aggregator"}) {
    auto process = ServiceProcess::Start(BinaryDir() + "/trelink-" + name, {"--config", name + ".textproto"}, dir);
    ASSERT_THAT(process, IsOk());
    auto port = process->WaitUntilServing(name + ".port", "auditor", absl::Seconds(30));
    ASSERT_THAT(port, IsOk()) << name;
    ports[name] = *port;
    services.push_back(*std::move(process));
  }
  const std::string catalogue = std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto";
  const std::vector<std::string> endpoints = {"--pseudonymiser", absl::StrCat("127.0.0.1:", ports["pseudonymiser"]),
                                              "--linker", absl::StrCat("127.0.0.1:", ports["linker"]),
                                              "--catalogue", catalogue, "--project", "demo"};
  for (const ProcessResult& ingest : ::trelink::testing::IngestAllDatasets(dir, endpoints)) {
    ASSERT_EQ(ingest.exit_code, 0) << ingest.stderr_text;
  }
  ProcessResult link = RunCommand(BinaryDir() + "/trelink-cli", Concat(Concat({"link"}, FlagsFor("link", endpoints)), TlsFlags("linkage-admin")), dir);
  ASSERT_EQ(link.exit_code, 0) << link.stderr_text;

  // The linkage report carries its own quality estimate, and analysts see it
  // as metadata of the generation their counts come from.
  EXPECT_NE(link.stdout_text.find("estimated quality (pairwise;"), std::string::npos) << link.stdout_text;
  EXPECT_NE(link.stdout_text.find("linkage errors by subgroup"), std::string::npos);
  {
    grpc::ClientContext context;
    ::trelink::testing::WithDeadline(context, 30);
    trelink::v1::DescribeCatalogueRequest request;
    request.set_project("demo");
    trelink::v1::CatalogueDescription description;
    ASSERT_TRUE(trelink::v1::AggregateService::NewStub(::trelink::testing::TestChannel(ports["aggregator"], "analyst"))
                    ->DescribeCatalogue(&context, request, &description)
                    .ok());
    EXPECT_GT(description.generation(), 0u);
    ASSERT_GT(description.linkage_quality().estimates_size(), 0);
    const auto& all = description.linkage_quality().estimates(0);
    EXPECT_EQ(all.scope(), "all");
    EXPECT_TRUE(all.estimated()) << all.method();
    EXPECT_GT(all.precision(), 0.99);
    EXPECT_GT(all.recall(), 0.9);
    bool by_region = false;
    for (const auto& g : description.linkage_quality().subgroups()) by_region = by_region || g.attribute() == "region";
    EXPECT_TRUE(by_region);
  }

  // True answers for every query file, from the ground truth.
  std::vector<std::string> query_files;
  for (const auto& f : std::filesystem::directory_iterator(std::string(TRELINK_SOURCE_DIR) + "/deploy/queries")) {
    query_files.push_back(f.path().string());
  }
  std::sort(query_files.begin(), query_files.end());
  ProcessResult truth = RunCommand(BinaryDir() + "/trelink-truth",
                                   Concat({"--population", dir, "--catalogue", catalogue, "--out", dir + "/truth"}, query_files), dir);
  ASSERT_EQ(truth.exit_code, 0) << truth.stderr_text;

  // A client that gives up before its answer is ready gets DEADLINE_EXCEEDED
  // and nothing is logged or remembered: this first Count builds the index of
  // the new generation, which takes far longer than 1 ms. The channel is
  // connected first so the call does reach the server.
  {
    auto stub = trelink::v1::AggregateService::NewStub(::trelink::testing::TestChannel(ports["aggregator"], "analyst"));
    grpc::ClientContext connect;
    ::trelink::testing::WithDeadline(connect, 30);
    trelink::v1::CatalogueDescription description;
    ASSERT_TRUE(stub->DescribeCatalogue(&connect, {}, &description).ok());
    trelink::v1::CountQuery query;
    ASSERT_THAT(LoadTextConfig(query_files[0], query), IsOk());
    grpc::ClientContext hurried;
    hurried.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1));
    trelink::v1::CountTable table;
    EXPECT_EQ(stub->Count(&hurried, query, &table).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }

  uint64_t released = 0, suppressed = 0, off_by_linkage = 0;
  for (const std::string& file : query_files) {
    trelink::v1::CountQuery query;
    ASSERT_THAT(LoadTextConfig(file, query), IsOk());
    trelink::v1::CountTable table;
    grpc::Status status = Count(ports["aggregator"], "analyst", query, table);
    ASSERT_TRUE(status.ok()) << file << ": " << status.error_message();
    const auto expected = ReadTruth(dir + "/truth/" + std::filesystem::path(file).stem().string() + ".truth.csv");
    ASSERT_EQ(expected.size(), static_cast<size_t>(table.cells_size())) << file;
    for (const auto& cell : table.cells()) {
      const std::string key = absl::StrJoin(cell.values(), ",");
      ASSERT_EQ(expected.count(key), 1u) << file << " " << key;
      const uint64_t t = expected.at(key);
      if (cell.status() != trelink::v1::ROUNDED) {
        EXPECT_EQ(cell.count(), 0u) << file << " " << key;
        ++suppressed;
        continue;
      }
      ++released;
      // The policy: released counts are zero or at least k, on base 5.
      EXPECT_TRUE(cell.count() == 0 || cell.count() >= 10) << file << " " << key;
      EXPECT_EQ(cell.count() % 5, 0u) << file << " " << key;
      // Against the truth: within rounding (2), plus linkage error of at most
      // 8% of the cell (the worst case today is Q7: a mother's childhood
      // record under her maiden name with no NHS number and an old address
      // is sometimes not linked), counted and bounded below.
      const double difference = std::abs(static_cast<double>(cell.count()) - static_cast<double>(t));
      if (difference > 2) ++off_by_linkage;
      EXPECT_LE(difference, 2 + 0.08 * static_cast<double>(t)) << file << " " << key << " true " << t;
    }
  }
  EXPECT_GT(released, 20u);
  EXPECT_GT(suppressed, 5u);
  EXPECT_LE(off_by_linkage * 10, released) << "more than a tenth of released cells off by more than rounding";

  // Refusals: wrong role, wrong project, bad query; each named.
  trelink::v1::CountQuery query;
  ASSERT_THAT(LoadTextConfig(query_files[0], query), IsOk());
  trelink::v1::CountTable table;
  EXPECT_EQ(Count(ports["aggregator"], "provider.maternity", query, table).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  trelink::v1::CountQuery other = query;
  other.set_project("pilot");
  EXPECT_EQ(Count(ports["aggregator"], "analyst", other, table).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  trelink::v1::CountQuery bad = query;
  bad.mutable_group_by(0)->set_attribute("local_authority");
  bad.mutable_cohort()->set_dataset("social_care");
  bad.mutable_cohort()->clear_events();
  bad.mutable_cohort()->add_events("looked_after");
  bad.mutable_cohort()->clear_role();
  grpc::Status refused = Count(ports["aggregator"], "analyst", bad, table);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("group_by[0].attribute: \"local_authority\" is not groupable"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(::trelink::testing::BadRequestFields(refused), std::vector<std::string>{"group_by[0].attribute"});
  trelink::v1::CountQuery no_values;
  ASSERT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q6_parental_learning_disability.textproto",
                             no_values),
              IsOk());
  no_values.mutable_cohort()->mutable_filters(0)->clear_values();
  refused = Count(ports["aggregator"], "analyst", no_values, table);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(::trelink::testing::BadRequestFields(refused), std::vector<std::string>{"cohort.filters[0].values"})
      << refused.error_message();

  // Health per service, and reflection v1 listing both of this server's.
  for (const std::string service : {"", "trelink.v1.AggregateService", "trelink.v1.AuditService"}) {
    auto health = ::trelink::testing::HealthOf(ports["aggregator"], "analyst", service);
    ASSERT_THAT(health, IsOk()) << service;
    EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::reflection::v1::ServerReflectionRequest list;
  list.set_list_services("");
  auto listed = ::trelink::testing::ReflectV1(ports["aggregator"], "analyst", {list});
  ASSERT_EQ(listed.size(), 1u);
  std::set<std::string> offered;
  for (const auto& s : listed[0].list_services_response().service()) offered.insert(s.name());
  EXPECT_EQ(offered.count("trelink.v1.AggregateService"), 1u);
  EXPECT_EQ(offered.count("trelink.v1.AuditService"), 1u);

  // The auditor: fetch, verify, tamper, detect.
  grpc::ClientContext analyst_context;
  trelink::v1::Checkpoint checkpoint;
  EXPECT_EQ(trelink::v1::AuditService::NewStub(::trelink::testing::TestChannel(ports["aggregator"], "analyst"))
                ->GetCheckpoint(&analyst_context, {}, &checkpoint)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::filesystem::create_directories(dir + "/audit");
  ProcessResult fetch = RunCommand(BinaryDir() + "/trelink-audit",
                                   Concat({"fetch", "--aggregator", absl::StrCat("127.0.0.1:", ports["aggregator"]),
                                           "--out", dir + "/audit"}, TlsFlags("auditor")), dir);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.stderr_text;
  const std::vector<std::string> verify = {"verify", "--log", dir + "/audit/disclosure.log", "--checkpoint",
                                           dir + "/audit/checkpoint", "--pubkey", dir + "/log.pub"};
  ProcessResult verified = RunCommand(BinaryDir() + "/trelink-audit", verify, dir);
  EXPECT_EQ(verified.exit_code, 0) << verified.stdout_text << verified.stderr_text;
  // Every answer and every refusal of a caller with a role is in the log
  // (the two invalid queries among them); the call whose deadline passed is
  // not.
  EXPECT_NE(verified.stdout_text.find(absl::StrCat(query_files.size() + 4, " entries (", query_files.size(),
                                                   " released tables, 4 refusals)")),
            std::string::npos)
      << verified.stdout_text;
  {
    std::fstream log(dir + "/audit/disclosure.log", std::ios::in | std::ios::out | std::ios::binary);
    log.seekg(100);
    char byte;
    log.get(byte);
    log.seekp(100);
    log.put(static_cast<char>(byte ^ 0x20));
  }
  ProcessResult tampered = RunCommand(BinaryDir() + "/trelink-audit", Concat(verify, {"--json"}), dir);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.stdout_text;
  EXPECT_NE(tampered.stdout_text.find("\"check\": \"checkpoint\""), std::string::npos) << tampered.stdout_text;

  for (auto& service : services) EXPECT_EQ(service.Stop().exit_code, 0);
}

// The size of the aggregator's disclosure log, as an auditor sees it.
uint64_t LogSize(int port) {
  grpc::ClientContext context;
  ::trelink::testing::WithDeadline(context);
  trelink::v1::Checkpoint checkpoint;
  grpc::Status status = trelink::v1::AuditService::NewStub(::trelink::testing::TestChannel(port, "auditor"))
                            ->GetCheckpoint(&context, {}, &checkpoint);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return checkpoint.size();
}

// Per-caller rate limits in the real binary: a caller past its burst gets
// RESOURCE_EXHAUSTED, unlogged, while other callers keep their own budget.
// The refill rate is one call in 1000 s, so no refill happens during the
// test and nothing depends on timing.
INSTANTIATE_TEST_SUITE_P(BothStores, AggregatorEndToEndTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(AggregatorBinaryTest, CountIsRateLimitedPerCaller) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir));
  {  // the linkage admin has no role at this aggregator
    std::ifstream in(dir + "/aggregator.textproto");
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string admin = R"(principals { identity: "linkage-admin" role: LINKAGE_ADMIN projects: "*" })";
    const size_t at = config.find(admin);
    ASSERT_NE(at, std::string::npos);
    config.erase(at, admin.size());
    std::ofstream(dir + "/aggregator.textproto") << config << "count_rate_limit { burst: 3 per_second: 0.001 }\n";
  }
  auto aggregator = ServiceProcess::Start(BinaryDir() + "/trelink-aggregator", {"--config", "aggregator.textproto"}, dir);
  ASSERT_THAT(aggregator, IsOk());
  auto port = aggregator->WaitUntilServing("aggregator.port", "auditor", absl::Seconds(30));
  ASSERT_THAT(port, IsOk());
  trelink::v1::CountQuery query;
  ASSERT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q2_newborn_share_of_proceedings.textproto",
                             query),
              IsOk());
  trelink::v1::CountTable table;
  // Nothing is linked yet: answered with a refusal, which is logged.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Count(*port, "analyst", query, table).error_code(), grpc::StatusCode::FAILED_PRECONDITION) << i;
  }
  EXPECT_EQ(LogSize(*port), 3u);
  for (int i = 0; i < 5; ++i) {
    grpc::Status refused = Count(*port, "analyst", query, table);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i;
    EXPECT_NE(refused.error_message().find("Count: over this caller's rate limit (3 at once"), std::string::npos)
        << refused.error_message();
  }
  EXPECT_EQ(LogSize(*port), 3u);
  // Another caller has a bucket of its own (its wrong role is refused and logged).
  EXPECT_EQ(Count(*port, "auditor", query, table).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LogSize(*port), 4u);
  // A caller with no role is limited too, and never logged either way.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Count(*port, "linkage-admin", query, table).error_code(), grpc::StatusCode::PERMISSION_DENIED) << i;
  }
  EXPECT_EQ(Count(*port, "linkage-admin", query, table).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(LogSize(*port), 4u);
  ProcessResult stopped = aggregator->Stop();
  EXPECT_EQ(stopped.exit_code, 0);
  EXPECT_NE(stopped.stderr_text.find("Count: 4 calls refused so far over their caller's rate limit"), std::string::npos)
      << stopped.stderr_text;
}

// A rate limit that cannot work stops the aggregator at start, naming the field.
// A typo in --format must not cost a logged release: it is refused before
// anything is sent (here to an address where nothing listens, so a query
// that went out would fail with UNAVAILABLE instead).
TEST(AggregatorBinaryTest, AnUnknownOutputFormatIsRefusedBeforeTheQueryIsSent) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ProcessResult cli = RunCommand(
      BinaryDir() + "/trelink-cli",
      Concat({"query", "--aggregator", "127.0.0.1:9", "--format", "xml", "--query",
              std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q1_maternal_deaths_social_care.textproto"},
             TlsFlags("analyst")),
      dir);
  EXPECT_EQ(cli.exit_code, 2) << cli.stderr_text;
  EXPECT_NE(cli.stderr_text.find("--format: \"xml\" is not text, csv or json"), std::string::npos) << cli.stderr_text;
}

TEST(AggregatorBinaryTest, AnInvalidRateLimitIsRefusedAtStart) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir));
  std::ofstream(dir + "/aggregator.textproto", std::ios::app) << "count_rate_limit { per_second: -1 }\n";
  auto aggregator = ServiceProcess::Start(BinaryDir() + "/trelink-aggregator", {"--config", "aggregator.textproto"}, dir);
  ASSERT_THAT(aggregator, IsOk());
  ProcessResult exited = aggregator->WaitForExit(absl::Seconds(30));
  EXPECT_NE(exited.exit_code, 0);
  EXPECT_NE(exited.stderr_text.find("count_rate_limit.per_second: must be above 0"), std::string::npos)
      << exited.stderr_text;
}

}  // namespace
}  // namespace trelink
