// How trelink-cli reaches a service, and what it tells the user when that
// fails: gRPC statuses become messages that say what to check.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace trelink {

// Where and how to reach a service over mTLS.
struct Endpoint {
  std::string address;
  std::string ca_file;
  std::string certificate_file;
  std::string private_key_file;
  int timeout_seconds = 600;
  // "pseudonymiser", "linker" or "aggregator" (what the address should be);
  // "service" when any trelink service will do (health).
  std::string service = "service";
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Endpoint& endpoint);

// True for the statuses CallError explains from the connection rather than
// from the server's message: UNAVAILABLE, and UNIMPLEMENTED without one.
bool IsConnectionFailure(const grpc::Status& status);

// A failed call as a status a user can act on. The code stays the gRPC
// code; the message names the service and, for connection failures, what
// went wrong: nothing answers at the address, the server is not the
// service asked for, the server's certificate is not from --ca, or the
// server refused this client's certificate (found by a TLS probe).
absl::Status CallError(const grpc::Status& status, const Endpoint& endpoint);

}  // namespace trelink
