// Helpers for tests that call trelink services over mTLS.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/server/tls.h"
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

}  // namespace trelink::testing
