// trelink-cli health: wait for a service to report SERVING.
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/cli/commands.h"

namespace trelink {

absl::Status WaitHealthy(const Endpoint& endpoint, OutputFormat format) {
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
      if (format == OutputFormat::kText) {
        std::printf("%s is serving\n", endpoint.address.c_str());
      } else {
        PrintStructured(OutputValue::Object()
                            .Add("address", OutputValue::String(endpoint.address))
                            .Add("status", OutputValue::String("SERVING")),
                        format);
      }
      return absl::OkStatus();
    }
    // A wrong service or certificate does not get better by waiting.
    if (!last.ok() && last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return CallError(last, endpoint);
    }
  }
  if (last.error_code() == grpc::StatusCode::UNAVAILABLE || last.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    const absl::Status why = CallError(grpc::Status(grpc::StatusCode::UNAVAILABLE, last.error_message()), endpoint);
    return absl::UnavailableError(absl::StrCat(endpoint.address, " did not report SERVING within ",
                                               endpoint.timeout_seconds, " s: ", why.message()));
  }
  return absl::UnavailableError(
      absl::StrCat(endpoint.address, " did not report SERVING within ", endpoint.timeout_seconds, " s",
                   last.ok() ? " (it reports NOT_SERVING)" : absl::StrCat(": ", last.error_message())));
}

}  // namespace trelink
