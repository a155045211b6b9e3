// The pseudonymiser's gRPC service hosted in-process on a loopback port with
// real mTLS, plus the handler called directly without a server.
#include <gtest/gtest.h>

#include "common/config/text_config.h"
#include "common/crypto/sealed_batch.h"
#include "common/pseudonym/key_schema.h"
#include "common/server/service_host.h"
#include "services/pseudonymiser/pseudonym_service.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/sample_batches.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::MaternityBatch;
using ::trelink::testing::PseudonymStub;
using ::trelink::testing::StatusIs;
using ::trelink::testing::WithDeadline;
using trelink::v1::PseudonymiseBatchRequest;
using trelink::v1::PseudonymiseBatchResponse;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

AccessPolicy TestPolicy() {
  trelink::v1::AccessPolicy config;
  auto add = [&](const std::string& identity, trelink::v1::Role role) {
    auto* p = config.add_principals();
    p->set_identity(identity);
    p->set_role(role);
    p->add_projects("demo");
    if (role == trelink::v1::PROVIDER) p->add_datasets(identity.substr(identity.find('.') + 1));
  };
  add("provider.maternity", trelink::v1::PROVIDER);
  add("provider.court", trelink::v1::PROVIDER);
  add("analyst", trelink::v1::ANALYST);
  add("linkage-admin", trelink::v1::LINKAGE_ADMIN);
  return *AccessPolicy::Create(config);
}

Catalogue TestCatalogue() {
  auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
  EXPECT_THAT(catalogue, IsOk());
  return *std::move(catalogue);
}

class PseudonymServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker_.public_key(), DefaultKeySchema(),
                                         {}, kClock);
    ASSERT_THAT(created, IsOk());
    pseudonymiser_ = *std::move(created);
    handler_ = std::make_unique<PseudonymHandler>(*pseudonymiser_, access_, catalogue_);
    service_ = std::make_unique<PseudonymServiceImpl>(*handler_);
    trelink::v1::ServerConfig config;
    config.set_listen_address("127.0.0.1:0");
    config.set_max_message_bytes(1 << 20);
    const std::string certs = ::trelink::testing::CertDir();
    config.mutable_tls()->set_certificate_file(certs + "/pseudonymiser.pem");
    config.mutable_tls()->set_private_key_file(certs + "/pseudonymiser.key");
    config.mutable_tls()->set_client_ca_file(certs + "/ca.pem");
    auto host = ServiceHost::Start("test-pseudonymiser", config, {service_.get()});
    ASSERT_THAT(host, IsOk());
    host_ = *std::move(host);
  }
  void TearDown() override {
    if (host_ != nullptr) host_->Shutdown(absl::Seconds(1));
  }

  LinkerKeyPair linker_ = ::trelink::testing::NewLinkerKeys();
  AccessPolicy access_ = TestPolicy();
  Catalogue catalogue_ = TestCatalogue();
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
  std::unique_ptr<PseudonymHandler> handler_;
  std::unique_ptr<PseudonymServiceImpl> service_;
  std::unique_ptr<ServiceHost> host_;
};

TEST_F(PseudonymServiceTest, ProviderGetsASealedBatchTheLinkerCanOpen) {
  auto stub = PseudonymStub(host_->port(), "provider.maternity");
  grpc::ClientContext context;
  WithDeadline(context);
  PseudonymiseBatchResponse response;
  const PseudonymiseBatchRequest request = MaternityBatch("m-0", 3);
  grpc::Status status = stub->Pseudonymise(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.stats().records(), 3u);
  EXPECT_EQ(response.stats().participants(), 6u);
  EXPECT_EQ(response.stats().missing_nhs_numbers(), 3u);  // the babies
  EXPECT_EQ(response.sealed().batch_id(), "m-0");
  EXPECT_EQ(response.sealed().key_version(), 1u);
  auto opened = OpenSealedBatch(response.sealed().blob(), linker_, {"demo", "maternity", "m-0", 3});
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->records(2).participants(1).role(), "baby");
}

TEST_F(PseudonymServiceTest, StreamAnswersEveryBatchInOrder) {
  auto stub = PseudonymStub(host_->port(), "provider.maternity");
  grpc::ClientContext context;
  WithDeadline(context);
  auto stream = stub->PseudonymiseStream(&context);
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(stream->Write(MaternityBatch(absl::StrCat("m-", b), 10 + b)));
  stream->WritesDone();
  PseudonymiseBatchResponse response;
  for (int b = 0; b < 5; ++b) {
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.sealed().batch_id(), absl::StrCat("m-", b));
    EXPECT_EQ(response.sealed().record_count(), static_cast<uint32_t>(10 + b));
  }
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(PseudonymServiceTest, StreamEndsAtTheFirstBadBatchNamingIt) {
  auto stub = PseudonymStub(host_->port(), "provider.maternity");
  grpc::ClientContext context;
  WithDeadline(context);
  auto stream = stub->PseudonymiseStream(&context);
  PseudonymiseBatchRequest bad = MaternityBatch("m-1", 4);
  bad.mutable_records(3)->mutable_participants(1)->mutable_identifiers()->set_date_of_birth("2020-02-30");
  stream->Write(MaternityBatch("m-0", 2));
  stream->Write(bad);
  stream->WritesDone();
  PseudonymiseBatchResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sealed().batch_id(), "m-0");
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "batch m-1: records[3].participants[1].identifiers.date_of_birth: not a calendar date");
}

// A message the pseudonymiser could not parse read as the end of the
// stream, and the call ended OK with the rest of the file never
// pseudonymised (as the linker's Ingest did before it parsed raw bytes).
TEST_F(PseudonymServiceTest, StreamEndsAtAnUnparsableMessageNamingIt) {
  grpc::ClientContext context;
  WithDeadline(context);
  auto channel = ::trelink::testing::TestChannel(host_->port(), "provider.maternity");
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(),
          grpc::internal::RpcMethod("/trelink.v1.PseudonymService/PseudonymiseStream",
                                    grpc::internal::RpcMethod::BIDI_STREAMING),
          &context));
  grpc::ByteBuffer good;
  bool own_buffer = false;
  ASSERT_TRUE(grpc::SerializationTraits<PseudonymiseBatchRequest>::Serialize(MaternityBatch("m-0", 2), &good,
                                                                             &own_buffer)
                  .ok());
  grpc::Slice garbage(std::string("\x0a\xff\xff\xff\x0f", 5));  // field 1: a length past the end
  ASSERT_TRUE(stream->Write(good));
  stream->Write(grpc::ByteBuffer(&garbage, 1));
  stream->WritesDone();
  grpc::ByteBuffer bytes;
  ASSERT_TRUE(stream->Read(&bytes));
  PseudonymiseBatchResponse response;
  ASSERT_TRUE(grpc::SerializationTraits<PseudonymiseBatchResponse>::Deserialize(&bytes, &response).ok());
  EXPECT_EQ(response.sealed().batch_id(), "m-0");
  EXPECT_FALSE(stream->Read(&bytes));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "message 2: not a valid PseudonymiseBatchRequest");
}

TEST_F(PseudonymServiceTest, WrongRoleOrProjectIsPermissionDenied) {
  PseudonymiseBatchResponse response;
  {
    grpc::ClientContext context;
    WithDeadline(context);
    grpc::Status status = PseudonymStub(host_->port(), "analyst")->Pseudonymise(&context, MaternityBatch("m", 1), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(status.error_message().find("role analyst"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    WithDeadline(context);
    grpc::Status status = PseudonymStub(host_->port(), "provider.maternity")
                              ->Pseudonymise(&context, MaternityBatch("m", 1, "another-project"), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {  // a valid certificate whose identity the policy does not list
    grpc::ClientContext context;
    WithDeadline(context);
    grpc::Status status = PseudonymStub(host_->port(), "provider.court")->Pseudonymise(&context, MaternityBatch("m", 1), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(PseudonymServiceTest, OversizedMessageIsResourceExhausted) {
  auto stub = PseudonymStub(host_->port(), "provider.maternity");
  grpc::ClientContext context;
  WithDeadline(context);
  PseudonymiseBatchResponse response;
  grpc::Status status = stub->Pseudonymise(&context, MaternityBatch("big", 9000), &response);  // > 1 MiB
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(PseudonymServiceTest, GetKeyInfoNeverCarriesKeyMaterial) {
  grpc::ClientContext context;
  WithDeadline(context);
  trelink::v1::GetKeyInfoRequest request;
  request.set_project("demo");
  trelink::v1::GetKeyInfoResponse response;
  grpc::Status status = PseudonymStub(host_->port(), "linkage-admin")->GetKeyInfo(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.versions_size(), 1);
  EXPECT_TRUE(response.versions(0).primary());
  EXPECT_EQ(response.linker_key_fingerprint(), linker_.public_key().Fingerprint());
  EXPECT_EQ(response.key_names_size(), DefaultKeySchema().keys_size());
  EXPECT_LT(response.ByteSizeLong(), 1000u);
}

TEST(PseudonymHandlerTest, ChecksRoleBeforeTouchingTheBatch) {
  LinkerKeyPair linker = ::trelink::testing::NewLinkerKeys();
  auto pseudonymiser = Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker.public_key(),
                                             DefaultKeySchema(), {}, kClock);
  ASSERT_THAT(pseudonymiser, IsOk());
  AccessPolicy policy = TestPolicy();
  Catalogue catalogue = TestCatalogue();
  PseudonymHandler handler(**pseudonymiser, policy, catalogue);
  PseudonymiseBatchRequest bad = MaternityBatch("m", 1);
  bad.clear_records();  // invalid, but the caller's role is checked first
  PseudonymiseBatchResponse response;
  EXPECT_THAT(handler.Pseudonymise("analyst", bad, response), StatusIs(absl::StatusCode::kPermissionDenied, "analyst"));
  EXPECT_THAT(handler.Pseudonymise("", bad, response), StatusIs(absl::StatusCode::kUnauthenticated, ""));
  EXPECT_THAT(handler.Pseudonymise("provider.maternity", bad, response),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch is empty"));
  EXPECT_THAT(handler.Pseudonymise("provider.maternity", MaternityBatch("m", 2), response), IsOk());
  EXPECT_EQ(response.stats().records(), 2u);
}

// Issue 12, item 5: the maternity provider's certificate stored a court
// record. A provider now sends only the datasets its principal lists.
TEST_F(PseudonymServiceTest, ProviderMaySendOnlyItsOwnDatasets) {
  PseudonymiseBatchRequest court = MaternityBatch("c-0", 1);
  court.set_dataset("court");
  court.mutable_records(0)->mutable_participants(0)->set_role("parent");
  court.mutable_records(0)->mutable_participants(1)->set_role("child");
  PseudonymiseBatchResponse response;
  EXPECT_THAT(handler_->Pseudonymise("provider.maternity", court, response),
              StatusIs(absl::StatusCode::kPermissionDenied, "may not send records of dataset \"court\""));
  EXPECT_THAT(handler_->Pseudonymise("provider.court", court, response), IsOk());
  grpc::ClientContext context;
  WithDeadline(context);
  grpc::Status status = PseudonymStub(host_->port(), "provider.maternity")->Pseudonymise(&context, court, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
}

// Issue 12, item 9: keys sealed under a dataset or role the catalogue does
// not have were accepted; now refused, naming the batch and record.
TEST_F(PseudonymServiceTest, UnknownDatasetOrRoleIsInvalidArgumentNamingTheRecord) {
  trelink::v1::AccessPolicy config;
  ASSERT_THAT(ParseTextConfig(R"pb(principals { identity: "provider.maternity" role: PROVIDER projects: "demo" datasets: "*" })pb",
                              "test", config),
              IsOk());
  TRELINK_ASSERT_OK_AND_ASSIGN(AccessPolicy any_dataset, AccessPolicy::Create(config));
  PseudonymHandler handler(*pseudonymiser_, any_dataset, catalogue_);
  PseudonymiseBatchResponse response;
  PseudonymiseBatchRequest unknown_dataset = MaternityBatch("u-0", 2);
  unknown_dataset.set_dataset("dentistry");
  EXPECT_THAT(handler.Pseudonymise("provider.maternity", unknown_dataset, response),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch u-0: dataset: \"dentistry\" is not in the catalogue"));
  PseudonymiseBatchRequest unknown_role = MaternityBatch("u-1", 2);
  unknown_role.mutable_records(1)->mutable_participants(0)->set_role("father");
  EXPECT_THAT(handler.Pseudonymise("provider.maternity", unknown_role, response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "batch u-1: records[1].participants[0].role: \"father\" is not a role of dataset maternity"));
}

TEST(ServiceHostTest, PlainTextOnlyOnLoopbackAndMutualTlsByDefault) {
  trelink::v1::ServerConfig config;
  config.set_listen_address("0.0.0.0:0");
  config.set_insecure_plaintext_loopback(true);
  EXPECT_THAT(ServiceHost::Start("t", config, {}), StatusIs(absl::StatusCode::kInvalidArgument, "only on a loopback"));
  config.set_insecure_plaintext_loopback(false);
  EXPECT_THAT(ServiceHost::Start("t", config, {}), StatusIs(absl::StatusCode::kInvalidArgument, "server.tls: required"));
  config.set_listen_address("nonsense");
  EXPECT_THAT(ServiceHost::Start("t", config, {}), StatusIs(absl::StatusCode::kInvalidArgument, "HOST:PORT"));
}

// Issue 12, item 9: any host starting with "127." counted as loopback, so
// plain text could be served on a name like 127.evil.invalid.
TEST(ServiceHostTest, LoopbackIsParsedAsAnAddressNotAPrefix) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"127.evil.invalid", "127.0.0.1.evil.invalid", "127.", "128.0.0.1", "0.0.0.0", "::",
                           "[::1", "::ffff:10.0.0.1", "localhost.evil.invalid", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  trelink::v1::ServerConfig config;
  config.set_listen_address("127.evil.invalid:0");
  config.set_insecure_plaintext_loopback(true);
  EXPECT_THAT(ServiceHost::Start("t", config, {}), StatusIs(absl::StatusCode::kInvalidArgument, "only on a loopback"));
}

}  // namespace
}  // namespace trelink
