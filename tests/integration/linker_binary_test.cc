// End to end: the real pseudonymiser and linker binaries with mTLS, a
// synthetic population from trelink-synth sent through trelink-cli by the
// three providers, linkage run by the linkage admin, and the report checked
// against the ground truth.
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <grpcpp/support/sync_stream.h>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/server/tls.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/sample_batches.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::CertDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::TlsFlags;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::ServiceProcess;

std::unique_ptr<trelink::v1::LinkageService::Stub> LinkerStub(int port, const std::string& identity) {
  return trelink::v1::LinkageService::NewStub(::trelink::testing::TestChannel(port, identity));
}

TEST(LinkerBinaryTest, ProvidersIngestAdminLinksReportMatchesTruth) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir));
  ProcessResult synth = RunCommand(BinaryDir() + "/trelink-synth", {"--mothers", "600", "--seed", "3", "--out", dir}, dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.stderr_text;

  auto pseudonymiser = ServiceProcess::Start(BinaryDir() + "/trelink-pseudonymiser", {"--config", "pseudonymiser.textproto"}, dir);
  ASSERT_THAT(pseudonymiser, IsOk());
  auto linker = ServiceProcess::Start(BinaryDir() + "/trelink-linker", {"--config", "linker.textproto"}, dir);
  ASSERT_THAT(linker, IsOk());
  auto p_port = pseudonymiser->WaitUntilServing("pseudonymiser.port", "linkage-admin", absl::Seconds(30));
  auto l_port = linker->WaitUntilServing("linker.port", "linkage-admin", absl::Seconds(30));
  ASSERT_THAT(p_port, IsOk());
  ASSERT_THAT(l_port, IsOk());
  const std::vector<std::string> endpoints = {"--pseudonymiser", absl::StrCat("127.0.0.1:", *p_port), "--linker",
                                              absl::StrCat("127.0.0.1:", *l_port), "--catalogue",
                                              std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto",
                                              "--project", "demo", "--batch_size", "500"};
  for (const ProcessResult& ingest : ::trelink::testing::IngestAllDatasets(dir, endpoints)) {
    ASSERT_EQ(ingest.exit_code, 0) << ingest.stderr_text;
    EXPECT_NE(ingest.stdout_text.find("already stored"), std::string::npos);
  }
  // A provider may not link; a resend stores nothing new.
  ProcessResult denied = RunCommand(BinaryDir() + "/trelink-cli",
                                    Concat(Concat({"link"}, FlagsFor("link", endpoints)), TlsFlags("provider.court")), dir);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.stderr_text.find("PERMISSION_DENIED"), std::string::npos) << denied.stderr_text;
  ProcessResult resend = RunCommand(
      BinaryDir() + "/trelink-cli",
      Concat(Concat({"ingest", "--dataset", "court", "--csv", dir + "/court.csv"}, endpoints), TlsFlags("provider.court")), dir);
  ASSERT_EQ(resend.exit_code, 0) << resend.stderr_text;
  EXPECT_NE(resend.stdout_text.find("0 batches stored"), std::string::npos) << resend.stdout_text;

  ProcessResult link = RunCommand(BinaryDir() + "/trelink-cli", Concat(Concat({"link"}, FlagsFor("link", endpoints)), TlsFlags("linkage-admin")), dir);
  ASSERT_EQ(link.exit_code, 0) << link.stderr_text;
  EXPECT_NE(link.stdout_text.find("linkage generation 1"), std::string::npos) << link.stdout_text;

  // The report, fetched as an auditor over gRPC, against the truth file.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  trelink::v1::GetLinkageReportRequest request;
  request.set_project("demo");
  trelink::v1::LinkageReport report;
  grpc::Status status = LinkerStub(*l_port, "auditor")->GetLinkageReport(&context, request, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(report.generation(), 1u);
  ::trelink::testing::ExpectReportMatchesTruth(report, ::trelink::testing::ReadTruthCounts(dir + "/truth.csv"));
  ASSERT_TRUE(report.has_probabilistic());
  EXPECT_GT(report.probabilistic().candidate_pairs(), 0u);
  for (const auto& pass : report.passes()) {
    for (const auto* c : {&pass.participants_in(), &pass.participants_linked(), &pass.merges()}) {
      EXPECT_TRUE(c->suppressed() ? c->value() == 0 : (c->value() == 0 || c->value() >= 10)) << pass.ShortDebugString();
    }
  }
  // An analyst cannot read the linkage report.
  grpc::ClientContext analyst_context;
  analyst_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  status = LinkerStub(*l_port, "analyst")->GetLinkageReport(&analyst_context, request, &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  EXPECT_EQ(linker->Stop().exit_code, 0);
  EXPECT_EQ(pseudonymiser->Stop().exit_code, 0);
}

// Sends `requests` on one Ingest stream as `identity`; the call's status.
grpc::Status Ingest(int port, const std::string& identity,
                    const std::vector<trelink::v1::IngestBatchRequest>& requests) {
  grpc::ClientContext context;
  ::trelink::testing::WithDeadline(context);
  trelink::v1::IngestResponse response;
  auto stream = LinkerStub(port, identity)->Ingest(&context, &response);
  for (const auto& request : requests) {
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  return stream->Finish();
}

class LinkerIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir_));
    auto pseudonymiser =
        ServiceProcess::Start(BinaryDir() + "/trelink-pseudonymiser", {"--config", "pseudonymiser.textproto"}, dir_);
    ASSERT_THAT(pseudonymiser, IsOk());
    auto linker = ServiceProcess::Start(BinaryDir() + "/trelink-linker", {"--config", "linker.textproto"}, dir_);
    ASSERT_THAT(linker, IsOk());
    pseudonymiser_.emplace(*std::move(pseudonymiser));
    linker_.emplace(*std::move(linker));
    auto p_port = pseudonymiser_->WaitUntilServing("pseudonymiser.port", "linkage-admin", absl::Seconds(30));
    auto l_port = linker_->WaitUntilServing("linker.port", "linkage-admin", absl::Seconds(30));
    ASSERT_THAT(p_port, IsOk());
    ASSERT_THAT(l_port, IsOk());
    pseudonymiser_port_ = *p_port;
    linker_port_ = *l_port;
  }

  void TearDown() override {
    if (linker_) {
      EXPECT_EQ(linker_->Stop().exit_code, 0);
    }
    if (pseudonymiser_) {
      EXPECT_EQ(pseudonymiser_->Stop().exit_code, 0);
    }
  }

  // A maternity batch of two births sealed by the real pseudonymiser, with
  // its content, ready for the linker.
  trelink::v1::IngestBatchRequest MaternityIngest(const std::string& batch_id) const {
    grpc::ClientContext context;
    ::trelink::testing::WithDeadline(context);
    trelink::v1::PseudonymiseBatchResponse sealed;
    grpc::Status status = ::trelink::testing::PseudonymStub(pseudonymiser_port_, "provider.maternity")
                              ->Pseudonymise(&context, ::trelink::testing::MaternityBatch(batch_id, 2), &sealed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return ::trelink::testing::BirthsIngest(sealed.sealed(), 2);
  }

  std::string dir_;
  int pseudonymiser_port_ = 0;
  int linker_port_ = 0;
  std::optional<ServiceProcess> pseudonymiser_;
  std::optional<ServiceProcess> linker_;
};

// Issue 12, item 5: the maternity provider's certificate stored a court
// record. The linker now takes from a provider only the datasets its
// principal lists.
TEST_F(LinkerIngestTest, AProviderMayIngestOnlyItsOwnDataset) {
  const trelink::v1::IngestBatchRequest maternity = MaternityIngest("m-0");
  grpc::Status status = Ingest(linker_port_, "provider.court", {maternity});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_NE(status.error_message().find("may not send records of dataset \"maternity\""), std::string::npos)
      << status.error_message();
  status = Ingest(linker_port_, "provider.maternity", {maternity});
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Issue 12, item 9: a message the linker could not parse read as the end of
// the stream, and the call ended OK with nothing stored.
TEST_F(LinkerIngestTest, AnUnparsableMessageFailsTheCall) {
  grpc::ClientContext context;
  ::trelink::testing::WithDeadline(context);
  grpc::ByteBuffer response;
  auto channel = ::trelink::testing::TestChannel(linker_port_, "provider.maternity");
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> stream(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
          channel.get(),
          grpc::internal::RpcMethod("/trelink.v1.LinkageService/Ingest", grpc::internal::RpcMethod::CLIENT_STREAMING),
          &context, &response));
  grpc::Slice garbage(std::string("\x0a\xff\xff\xff\x0f", 5));  // field 1: a length past the end
  stream->Write(grpc::ByteBuffer(&garbage, 1));
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("message 1: not a valid IngestBatchRequest"), std::string::npos)
      << status.error_message();
}

// Issue 12, item 9: an event that has not happened yet was stored. "Today"
// is the linker's clock (injectable in the handler; the system clock here).
TEST_F(LinkerIngestTest, AnEventAfterTodayIsRejected) {
  trelink::v1::IngestBatchRequest future = MaternityIngest("m-1");
  const absl::CivilDay later = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) + 2;
  future.mutable_records(1)->set_event_date(
      absl::StrFormat("%04d-%02d-%02d", later.year(), later.month(), later.day()));
  grpc::Status status = Ingest(linker_port_, "provider.maternity", {future});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("batch m-1: records[1].event_date: after today"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(::trelink::testing::BadRequestFields(status), std::vector<std::string>{"records[1].event_date"});
}

// The field at fault reaches the client as google.rpc.BadRequest details,
// and neither they nor the message repeat the value.
TEST_F(LinkerIngestTest, ContentOutsideTheCatalogueNamesTheRecordsField) {
  trelink::v1::IngestBatchRequest bad = MaternityIngest("m-2");
  (*bad.mutable_records(1)->mutable_attributes())["region"] = "Atlantis-7";
  grpc::Status status = Ingest(linker_port_, "provider.maternity", {bad});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "batch m-2: records[1].attributes.region: not one of the catalogue's allowed values");
  EXPECT_EQ(::trelink::testing::BadRequestFields(status), std::vector<std::string>{"records[1].attributes.region"});
  EXPECT_EQ((status.error_message() + status.error_details()).find("Atlantis"), std::string::npos);
}

}  // namespace
}  // namespace trelink
