// Helpers for tests that call trelink services over mTLS.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "absl/strings/str_cat.h"
#include "common/server/tls.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/support/service_process.h"
#include "trelink/v1/aggregate.grpc.pb.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink::testing {

// An mTLS channel to a loopback port, authenticated as the dev certificate
// `identity` (e.g. "analyst"); empty `identity` presents no client certificate.
inline std::shared_ptr<grpc::Channel> TestChannel(int port, const std::string& identity) {
  const std::string certs = CertDir();
  ClientTlsFiles files{certs + "/ca.pem", "", ""};
  if (!identity.empty()) {
    files.certificate_file = certs + "/" + identity + ".pem";
    files.private_key_file = certs + "/" + identity + ".key";
  }
  auto channel = CreateMutualTlsChannel(absl::StrCat("127.0.0.1:", port), files);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

inline std::unique_ptr<trelink::v1::PseudonymService::Stub> PseudonymStub(int port, const std::string& identity) {
  return trelink::v1::PseudonymService::NewStub(TestChannel(port, identity));
}

inline void WithDeadline(grpc::ClientContext& context, int seconds = 20) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// One Count call to the aggregator on `port` as `identity`.
inline grpc::Status Count(int port, const std::string& identity, const trelink::v1::CountQuery& query,
                          trelink::v1::CountTable& table) {
  grpc::ClientContext context;
  WithDeadline(context, 60);
  return trelink::v1::AggregateService::NewStub(TestChannel(port, identity))->Count(&context, query, &table);
}

// The field paths of the google.rpc.BadRequest in a call's error details, as
// a client decodes them from the grpc-status-details-bin trailer; empty when
// there are none. A detail that does not parse fails the test.
inline std::vector<std::string> BadRequestFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  if (status.error_details().empty()) return fields;
  google::rpc::Status rich;
  EXPECT_TRUE(rich.ParseFromString(status.error_details()));
  EXPECT_EQ(rich.code(), status.error_code());
  EXPECT_EQ(rich.message(), status.error_message());
  for (const google::protobuf::Any& detail : rich.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) continue;
    for (const auto& violation : bad_request.field_violations()) {
      EXPECT_FALSE(violation.description().empty()) << violation.field();
      fields.push_back(violation.field());
    }
  }
  return fields;
}

// The health status of `service` ("" for the server) on `port`, or the
// status of the failed call.
inline absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> HealthOf(int port,
                                                                                    const std::string& identity,
                                                                                    const std::string& service) {
  grpc::ClientContext context;
  WithDeadline(context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(TestChannel(port, identity))->Check(&context, request, &response);
  if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  return response.status();
}

// Asks the server on `port` the reflection v1 `requests` on one stream and
// returns the answers in order.
inline std::vector<grpc::reflection::v1::ServerReflectionResponse> ReflectV1(
    int port, const std::string& identity, const std::vector<grpc::reflection::v1::ServerReflectionRequest>& requests) {
  grpc::ClientContext context;
  WithDeadline(context);
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(TestChannel(port, identity));
  auto stream = stub->ServerReflectionInfo(&context);
  std::vector<grpc::reflection::v1::ServerReflectionResponse> responses;
  for (const auto& request : requests) {
    grpc::reflection::v1::ServerReflectionResponse response;
    if (!stream->Write(request) || !stream->Read(&response)) break;
    responses.push_back(response);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  return responses;
}

}  // namespace trelink::testing
