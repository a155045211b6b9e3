// The authorization matrix: every RPC of the three real service binaries
// (mTLS on loopback) called by every kind of caller — each role, a provider
// sending another dataset, analysts and auditors of another project, a
// certificate with no role, one from a foreign CA, an expired one and none —
// and each status compared with tests/integration/authorization_matrix.tsv.
// The table must name every method of the four trelink services, so a new
// RPC without a row fails here.
#include <grpcpp/client_context.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config/text_config.h"
#include "common/server/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/sample_batches.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/aggregate.grpc.pb.h"
#include "trelink/v1/disclosure_log.grpc.pb.h"
#include "trelink/v1/linkage.grpc.pb.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::CertDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::TlsFlags;

// One row of the table: a call on a server and its expected status per caller.
struct MatrixRow {
  std::string server;
  std::string rpc;  // Service/Method, or Service/Method(variant)
  std::vector<std::string> expected;
};

struct Matrix {
  std::vector<std::string> callers;
  std::vector<MatrixRow> rows;
};

Matrix ReadMatrix() {
  Matrix matrix;
  std::ifstream in(std::string(TRELINK_SOURCE_DIR) + "/tests/integration/authorization_matrix.tsv");
  EXPECT_TRUE(in.good()) << "authorization_matrix.tsv not found";
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (matrix.callers.empty()) {
      EXPECT_GE(fields.size(), 3u);
      matrix.callers.assign(fields.begin() + 2, fields.end());
      continue;
    }
    EXPECT_EQ(fields.size(), matrix.callers.size() + 2) << line;
    if (fields.size() != matrix.callers.size() + 2) continue;
    matrix.rows.push_back({fields[0], fields[1], {fields.begin() + 2, fields.end()}});
  }
  return matrix;
}

// "Service/Method" of a row, without its variant.
std::string MethodOf(const std::string& rpc) { return rpc.substr(0, rpc.find('(')); }

bool IsStatusName(const std::string& name) {
  for (int code = 0; code <= 16; ++code) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) == name) return true;
  }
  return false;
}

const std::vector<std::string> kCallers = {
    "provider", "provider-other-dataset", "linkage-admin", "analyst", "analyst-other-project", "auditor",
    "auditor-other-project", "no-role", "foreign-ca", "expired", "no-certificate"};

TEST(AuthorizationMatrixTableTest, NamesEveryMethodAndEveryCallerOnce) {
  const Matrix matrix = ReadMatrix();
  EXPECT_EQ(matrix.callers, kCallers);
  std::set<std::pair<std::string, std::string>> expected;
  for (const auto& [server, services] : std::map<std::string, std::vector<std::string>>{
           {"pseudonymiser", {"PseudonymService"}},
           {"linker", {"LinkageService"}},
           {"aggregator", {"AggregateService", "AuditService"}}}) {
    expected.insert({server, "Health/Check"});
    for (const std::string& service : services) {
      const auto* descriptor =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName("trelink.v1." + service);
      ASSERT_NE(descriptor, nullptr) << service;
      for (int m = 0; m < descriptor->method_count(); ++m) {
        expected.insert({server, service + "/" + descriptor->method(m)->name()});
      }
    }
  }
  std::set<std::pair<std::string, std::string>> named;
  std::set<std::pair<std::string, std::string>> rows;
  for (const MatrixRow& row : matrix.rows) {
    named.insert({row.server, MethodOf(row.rpc)});
    EXPECT_TRUE(rows.insert({row.server, row.rpc}).second) << "twice: " << row.server << " " << row.rpc;
    for (const std::string& status : row.expected) EXPECT_TRUE(IsStatusName(status)) << row.rpc << ": " << status;
  }
  EXPECT_EQ(named, expected);
}

// Certificates the dev CA fixture does not make, made with openssl in `dir`.
class MatrixCertificates {
 public:
  explicit MatrixCertificates(std::string dir) : dir_(std::move(dir)) {}

  bool Make() {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/client.ext") << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                        << "extendedKeyUsage=clientAuth\n";
    const std::string dev_ca = CertDir() + "/ca";
    return Run({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                "-subj", "/CN=foreign CA", "-keyout", dir_ + "/foreign-ca.key", "-out", dir_ + "/foreign-ca.pem"}) &&
           Issue("analyst.other", "analyst.other", dev_ca, "30") &&
           Issue("auditor.other", "auditor.other", dev_ca, "30") && Issue("stranger", "stranger", dev_ca, "30") &&
           Issue("foreign", "auditor", dir_ + "/foreign-ca", "30") &&
           // -days -1: not after a day before not before, so already expired.
           Issue("expired", "auditor", dev_ca, "-1");
  }

  const std::string& dir() const { return dir_; }

 private:
  bool Run(const std::vector<std::string>& args) const {
    ProcessResult result = RunCommand("/usr/bin/openssl", args, dir_);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    return result.exit_code == 0;
  }
  // A client certificate with common name `cn` signed by `ca` (.pem/.key).
  bool Issue(const std::string& name, const std::string& cn, const std::string& ca, const std::string& days) const {
    const std::string base = dir_ + "/" + name;
    return Run({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", base + ".key", "-out", base + ".csr"}) &&
           Run({"x509", "-req", "-in", base + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-set_serial",
                absl::StrCat(std::hash<std::string>()(name) & 0xffffff), "-days", days, "-extfile",
                dir_ + "/client.ext", "-out", base + ".pem"});
  }
  std::string dir_;
};

// A column of the table: whose certificate, and which dataset it sends.
struct MatrixCaller {
  ClientTlsFiles files;
  std::string dataset = "maternity";
};

class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::trelink::testing::MakeTempDir();
    ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir_));
    for (const std::string service : {"pseudonymiser", "linker", "aggregator"}) AddOtherProjectPrincipals(service);
    MatrixCertificates made(dir_ + "/matrix-certs");
    ASSERT_TRUE(made.Make());
    DefineCallers(made.dir());
    ProcessResult synth =
        RunCommand(BinaryDir() + "/trelink-synth", {"--mothers", "200", "--seed", "3", "--out", dir_}, dir_);
    ASSERT_EQ(synth.exit_code, 0) << synth.stderr_text;
    ASSERT_TRUE(::trelink::testing::StartServices(dir_, {"pseudonymiser", "linker", "aggregator"}, services_));
    for (const ProcessResult& ingest : ::trelink::testing::IngestAllDatasets(dir_, services_.CliEndpoints())) {
      ASSERT_EQ(ingest.exit_code, 0) << ingest.stderr_text;
    }
    ProcessResult link = RunCommand(BinaryDir() + "/trelink-cli",
                                    Concat(Concat({"link"}, FlagsFor("link", services_.CliEndpoints())), TlsFlags("linkage-admin")), dir_);
    ASSERT_EQ(link.exit_code, 0) << link.stderr_text;
    ASSERT_THAT(LoadTextConfig(std::string(TRELINK_SOURCE_DIR) +
                                   "/deploy/queries/q2_newborn_share_of_proceedings.textproto",
                               query_),
                IsOk());
    // Two log entries, so that the proofs asked for below exist.
    for (int i = 0; i < 2; ++i) {
      trelink::v1::CountTable table;
      grpc::Status counted = ::trelink::testing::Count(services_.ports.at("aggregator"), "analyst", query_, table);
      ASSERT_TRUE(counted.ok()) << counted.error_message();
    }
  }

  void TearDown() override {
    for (auto& service : services_.processes) EXPECT_EQ(service.Stop().exit_code, 0);
  }

  void AddOtherProjectPrincipals(const std::string& service) {
    const std::string path = dir_ + "/" + service + ".textproto";
    std::ifstream in(path);
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = config.find("access {");
    ASSERT_NE(at, std::string::npos);
    config.insert(at + 8, R"pb(
    principals { identity: "analyst.other" role: ANALYST projects: "other" }
    principals { identity: "auditor.other" role: AUDITOR projects: "other" })pb");
    std::ofstream(path) << config;
  }

  void DefineCallers(const std::string& made) {
    const std::string certs = CertDir();
    const auto dev = [&](const std::string& name) {
      return ClientTlsFiles{certs + "/ca.pem", certs + "/" + name + ".pem", certs + "/" + name + ".key"};
    };
    const auto other = [&](const std::string& name) {
      return ClientTlsFiles{certs + "/ca.pem", made + "/" + name + ".pem", made + "/" + name + ".key"};
    };
    callers_ = {{"provider", {dev("provider.maternity")}},
                {"provider-other-dataset", {dev("provider.maternity"), "court"}},
                {"linkage-admin", {dev("linkage-admin")}},
                {"analyst", {dev("analyst")}},
                {"analyst-other-project", {other("analyst.other")}},
                {"auditor", {dev("auditor")}},
                {"auditor-other-project", {other("auditor.other")}},
                {"no-role", {other("stranger")}},
                {"foreign-ca", {other("foreign")}},
                {"expired", {other("expired")}},
                {"no-certificate", {{certs + "/ca.pem", "", ""}}}};
  }

  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& server, const MatrixCaller& caller) const {
    auto channel =
        CreateMutualTlsChannel(absl::StrCat("127.0.0.1:", services_.ports.at(server)), caller.files);
    EXPECT_THAT(channel, IsOk());
    return *channel;
  }

  // An identifier batch of `dataset` for the pseudonymiser, under a new id.
  trelink::v1::PseudonymiseBatchRequest IdentifierBatch(const std::string& dataset) {
    trelink::v1::PseudonymiseBatchRequest batch =
        ::trelink::testing::MaternityBatch(absl::StrCat("matrix-", ++batches_), 2);
    if (dataset == "court") {
      batch.set_dataset("court");
      for (auto& record : *batch.mutable_records()) {
        record.mutable_participants(0)->set_role("parent");
        record.mutable_participants(1)->set_role("child");
      }
    }
    return batch;
  }

  // A batch of `dataset` sealed by the real pseudonymiser for its own
  // provider, with content, ready for the linker.
  trelink::v1::IngestBatchRequest SealedIngest(const std::string& dataset) {
    const std::string provider = dataset == "court" ? "provider.court" : "provider.maternity";
    grpc::ClientContext context;
    ::trelink::testing::WithDeadline(context);
    trelink::v1::PseudonymiseBatchResponse sealed;
    grpc::Status status = ::trelink::testing::PseudonymStub(services_.ports.at("pseudonymiser"), provider)
                              ->Pseudonymise(&context, IdentifierBatch(dataset), &sealed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    trelink::v1::IngestBatchRequest request = ::trelink::testing::BirthsIngest(sealed.sealed(), 2);
    if (dataset == "court") {
      for (auto& record : *request.mutable_records()) record.set_event("care_proceedings");
    }
    return request;
  }

  // A withdrawal of two record ids of `dataset`, sealed by the real
  // pseudonymiser for its own provider.
  trelink::v1::WithdrawRequest SealedWithdrawal(const std::string& dataset) {
    const std::string provider = dataset == "court" ? "provider.court" : "provider.maternity";
    trelink::v1::PseudonymiseBatchRequest batch;
    batch.set_project("demo");
    batch.set_dataset(dataset);
    batch.set_batch_id(absl::StrCat("withdrawal-", ++batches_));
    batch.set_purpose(trelink::v1::BATCH_WITHDRAWAL);
    batch.add_records()->set_record_id("r-1");
    batch.add_records()->set_record_id("r-2");
    grpc::ClientContext context;
    ::trelink::testing::WithDeadline(context);
    trelink::v1::PseudonymiseBatchResponse sealed;
    grpc::Status status = ::trelink::testing::PseudonymStub(services_.ports.at("pseudonymiser"), provider)
                              ->Pseudonymise(&context, batch, &sealed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    trelink::v1::WithdrawRequest request;
    *request.mutable_sealed() = sealed.sealed();
    return request;
  }

  // Two NHS numbers as an opt-out list batch.
  static trelink::v1::PseudonymiseBatchRequest OptOutBatch(int batch) {
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project("demo");
    request.set_dataset("opt-out");
    request.set_batch_id(absl::StrCat("opt-out-", batch));
    request.set_purpose(trelink::v1::BATCH_OPT_OUT);
    for (const char* number : {"9434765919", "9434765870"}) {
      auto* participant = request.add_records()->add_participants();
      participant->set_role("opt-out");
      participant->mutable_identifiers()->set_nhs_number(number);
    }
    return request;
  }

  // An opt-out list of one batch, sealed for the linkage admin.
  trelink::v1::OptOutRequest SealedOptOut() {
    grpc::ClientContext context;
    ::trelink::testing::WithDeadline(context);
    trelink::v1::PseudonymiseBatchResponse sealed;
    grpc::Status status = ::trelink::testing::PseudonymStub(services_.ports.at("pseudonymiser"), "linkage-admin")
                              ->Pseudonymise(&context, OptOutBatch(++batches_), &sealed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    trelink::v1::OptOutRequest request;
    request.set_list_version("2026-11");
    *request.mutable_sealed() = sealed.sealed();
    request.set_complete(true);
    return request;
  }

  using Call = std::function<grpc::Status(grpc::ClientContext&, const std::shared_ptr<grpc::Channel>&, const MatrixCaller&)>;
  std::map<std::string, Call> Calls();

  std::string dir_;
  ::trelink::testing::RunningServices services_;
  std::map<std::string, MatrixCaller> callers_;
  trelink::v1::CountQuery query_;
  int batches_ = 0;
};

std::map<std::string, AuthorizationMatrixTest::Call> AuthorizationMatrixTest::Calls() {
  using namespace trelink::v1;  // NOLINT: the request and stub types of every service
  return {
      {"PseudonymService/Pseudonymise",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller& caller) {
         PseudonymiseBatchResponse response;
         return PseudonymService::NewStub(channel)
             ->Pseudonymise(&context, IdentifierBatch(caller.dataset), &response);
       }},
      {"PseudonymService/Pseudonymise(opt-out)",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         PseudonymiseBatchResponse response;
         return PseudonymService::NewStub(channel)->Pseudonymise(&context, OptOutBatch(++batches_), &response);
       }},
      {"PseudonymService/PseudonymiseStream",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller& caller) {
         auto stream = PseudonymService::NewStub(channel)->PseudonymiseStream(&context);
         stream->Write(IdentifierBatch(caller.dataset));
         stream->WritesDone();
         PseudonymiseBatchResponse response;
         while (stream->Read(&response)) {
         }
         return stream->Finish();
       }},
      {"PseudonymService/GetKeyInfo",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         GetKeyInfoRequest request;
         request.set_project("demo");
         GetKeyInfoResponse response;
         return PseudonymService::NewStub(channel)->GetKeyInfo(&context, request, &response);
       }},
      {"LinkageService/Ingest",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller& caller) {
         const IngestBatchRequest batch = SealedIngest(caller.dataset);
         IngestResponse response;
         auto stream = LinkageService::NewStub(channel)->Ingest(&context, &response);
         stream->Write(batch);
         stream->WritesDone();
         return stream->Finish();
       }},
      {"LinkageService/Withdraw",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller& caller) {
         const WithdrawRequest request = SealedWithdrawal(caller.dataset);
         WithdrawResponse response;
         return LinkageService::NewStub(channel)->Withdraw(&context, request, &response);
       }},
      {"LinkageService/ApplyOptOut",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         const OptOutRequest request = SealedOptOut();
         OptOutResponse response;
         return LinkageService::NewStub(channel)->ApplyOptOut(&context, request, &response);
       }},
      {"LinkageService/RunLinkage",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         RunLinkageRequest request;
         request.set_project("demo");
         LinkageReport report;
         return LinkageService::NewStub(channel)->RunLinkage(&context, request, &report);
       }},
      {"LinkageService/GetLinkageReport",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         GetLinkageReportRequest request;
         request.set_project("demo");
         LinkageReport report;
         return LinkageService::NewStub(channel)->GetLinkageReport(&context, request, &report);
       }},
      {"AggregateService/DescribeCatalogue",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         CatalogueDescription description;
         return AggregateService::NewStub(channel)->DescribeCatalogue(&context, {}, &description);
       }},
      {"AggregateService/DescribeCatalogue(project)",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         DescribeCatalogueRequest request;
         request.set_project("demo");
         CatalogueDescription description;
         return AggregateService::NewStub(channel)
             ->DescribeCatalogue(&context, request, &description);
       }},
      {"AggregateService/Count",
       [this](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         CountTable table;
         return AggregateService::NewStub(channel)->Count(&context, query_, &table);
       }},
      {"AuditService/GetCheckpoint",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         Checkpoint checkpoint;
         return AuditService::NewStub(channel)->GetCheckpoint(&context, {}, &checkpoint);
       }},
      {"AuditService/GetEntries",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         auto reader = AuditService::NewStub(channel)->GetEntries(&context, {});
         RawLogEntry entry;
         while (reader->Read(&entry)) {
         }
         return reader->Finish();
       }},
      {"AuditService/GetInclusionProof",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         GetInclusionProofRequest request;
         request.set_index(0);
         request.set_tree_size(1);
         Proof proof;
         return AuditService::NewStub(channel)->GetInclusionProof(&context, request, &proof);
       }},
      {"AuditService/GetConsistencyProof",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         GetConsistencyProofRequest request;
         request.set_old_size(1);
         request.set_new_size(2);
         Proof proof;
         return AuditService::NewStub(channel)->GetConsistencyProof(&context, request, &proof);
       }},
      {"Health/Check",
       [](grpc::ClientContext& context, const std::shared_ptr<grpc::Channel>& channel, const MatrixCaller&) {
         grpc::health::v1::HealthCheckResponse response;
         return grpc::health::v1::Health::NewStub(channel)->Check(&context, {}, &response);
       }},
  };
}

TEST_F(AuthorizationMatrixTest, EveryCallGetsTheStatusOfTheTable) {
  const Matrix matrix = ReadMatrix();
  ASSERT_EQ(matrix.callers, kCallers);
  const std::map<std::string, Call> calls = Calls();
  int cells = 0;
  for (const MatrixRow& row : matrix.rows) {
    auto call = calls.find(row.rpc);
    ASSERT_NE(call, calls.end()) << "no call for " << row.rpc;
    for (size_t c = 0; c < matrix.callers.size(); ++c) {
      const MatrixCaller& caller = callers_.at(matrix.callers[c]);
      grpc::ClientContext context;
      ::trelink::testing::WithDeadline(context);
      const grpc::Status status = call->second(context, ChannelTo(row.server, caller), caller);
      EXPECT_EQ(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())), row.expected[c])
          << row.server << " " << row.rpc << " as " << matrix.callers[c] << ": " << status.error_message();
      ++cells;
    }
  }
  EXPECT_EQ(cells, 19 * 11);
  std::cout << matrix.rows.size() << " calls x " << matrix.callers.size() << " callers = " << cells << " cells\n";
}

}  // namespace
}  // namespace trelink
