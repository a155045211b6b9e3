// The one place where domain statuses become gRPC statuses, and back.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace trelink {

// The gRPC status of `status`, code for code. The fields it names
// (common/status/field_violation.h) go with it as google.rpc.Status details
// holding a google.rpc.BadRequest, in the grpc-status-details-bin trailer.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The domain status of a call's outcome, code for code, with the fields the
// server named in google.rpc.BadRequest details (see FieldViolations()).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace trelink
