// Errors that name the request field at fault, for machines as well as
// people. The message says "<field>: <description>" as trelink's messages
// always have; the status also carries the field as a google.rpc.BadRequest
// payload, which the service edge (common/server/grpc_status.h) sends as
// google.rpc.Status details, so a client reads the field without parsing the
// message. No gRPC here: domain code builds these.
//
// A description says what is wrong, never the value: a request carries
// identifiers, and errors end up in logs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trelink {

// The payload's type URL: that of google.rpc.BadRequest packed in an Any.
inline constexpr absl::string_view kBadRequestTypeUrl = "type.googleapis.com/google.rpc.BadRequest";

// One field at fault: a path into the request ("records[3].participants[0].
// identifiers.sex", "filters[1].values") and what is wrong with it.
struct FieldViolation {
  std::string field;
  std::string description;
};

// A status of `code` whose message is "<context><field>: <description>" and
// which names `field`. `context` places the request for a reader (e.g.
// "batch B: ") and is not part of the path.
absl::Status FieldError(absl::string_view field, absl::string_view description, absl::string_view context = "",
                        absl::StatusCode code = absl::StatusCode::kInvalidArgument);

// `inner`, an error about a part of the request, as the error of the whole:
// the message becomes "<context><parent>.<inner message>" and every field it
// names "<parent>.<field>". Its code is kept.
absl::Status NestedFieldError(const absl::Status& inner, absl::string_view parent, absl::string_view context = "");

// `status` with `context` before its message; the fields it names are kept.
absl::Status WithContext(const absl::Status& status, absl::string_view context);

// The fields `status` names, in order; empty when it names none.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

}  // namespace trelink
