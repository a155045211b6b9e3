// trelink-cli health: wait for a service to report SERVING.
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/server/tls.h"
#include "common/status/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/cli/commands.h"

namespace trelink {

absl::Status WaitHealthy(const Endpoint& endpoint) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(endpoint));
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(endpoint.timeout_seconds);
  grpc::Status last;
  while (std::chrono::system_clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::min(deadline, std::chrono::system_clock::now() + std::chrono::seconds(2)));
    context.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckResponse response;
    last = health->Check(&context, {}, &response);
    if (last.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      std::printf("%s is serving\n", endpoint.address.c_str());
      return absl::OkStatus();
    }
  }
  return absl::UnavailableError(
      absl::StrCat(endpoint.address, " did not report SERVING within ", endpoint.timeout_seconds, " s: ",
                   last.error_message()));
}

}  // namespace trelink
