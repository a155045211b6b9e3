// The one place where domain statuses become gRPC statuses.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace trelink {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace trelink
