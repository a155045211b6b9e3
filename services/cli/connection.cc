#include "services/cli/connection.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/server/grpc_status.h"
#include "common/server/tls.h"
#include "common/status/field_violation.h"
#include "services/cli/tls_diagnosis.h"

namespace trelink {

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Endpoint& endpoint) {
  return CreateMutualTlsChannel(endpoint.address,
                                {endpoint.ca_file, endpoint.certificate_file, endpoint.private_key_file});
}

bool IsConnectionFailure(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && status.error_message().empty());
}

namespace {

std::string TrelinkService(const Endpoint& endpoint) {
  return endpoint.service == "service" ? "trelink service" : absl::StrCat("trelink ", endpoint.service);
}

std::string Unavailable(const grpc::Status& status, const Endpoint& endpoint) {
  const TlsProbeResult probe = ProbeTls(endpoint.address, endpoint.ca_file, endpoint.certificate_file,
                                        endpoint.private_key_file, endpoint.timeout_seconds);
  switch (probe.outcome) {
    case TlsProbeOutcome::kNoAnswer:
      return absl::StrCat("nothing answers at ", endpoint.address, " (", probe.detail, "): is the ",
                          TrelinkService(endpoint), " running, and is this its address and port?");
    case TlsProbeOutcome::kServerNotTrusted:
      return absl::StrCat("the server at ", endpoint.address, " presented a certificate that the CA in --ca ",
                          endpoint.ca_file, " does not vouch for (", probe.detail,
                          "): check --ca, and that the address is the ", TrelinkService(endpoint));
    case TlsProbeOutcome::kClientRefused:
      if (endpoint.certificate_file.empty()) {
        return absl::StrCat("the server at ", endpoint.address,
                            " requires a client certificate: pass --cert and --key");
      }
      return absl::StrCat("the server at ", endpoint.address, " refused this client's certificate",
                          " --cert ", endpoint.certificate_file,
                          " (", probe.detail,
                          "): it must be issued by the CA the server trusts and be within its validity period");
    case TlsProbeOutcome::kHandshakeFailed:
      return absl::StrCat("no TLS connection to ", endpoint.address, " (", probe.detail, "): is it the ",
                          TrelinkService(endpoint), ", serving with TLS?");
    case TlsProbeOutcome::kHandshakeSucceeded:
      break;
  }
  return absl::StrCat(endpoint.service, " at ", endpoint.address, " is unavailable: ", status.error_message());
}

}  // namespace

absl::Status CallError(const grpc::Status& status, const Endpoint& endpoint) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && status.error_message().empty()) {
    return absl::Status(code, absl::StrCat("the server at ", endpoint.address, " is not a ",
                                           TrelinkService(endpoint), " (it does not know this call)"));
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) return absl::Status(code, Unavailable(status, endpoint));
  // The fields the server named (google.rpc.BadRequest), spelled out unless
  // its message already does.
  const absl::Status result = FromGrpcStatus(status);
  std::string named;
  for (const FieldViolation& violation : FieldViolations(result)) {
    if (!absl::StrContains(result.message(), violation.field)) {
      absl::StrAppend(&named, "\n  field ", violation.field, ": ", violation.description);
    }
  }
  return absl::Status(code, absl::StrCat(endpoint.service, ": ", status.error_message(), named));
}

}  // namespace trelink
