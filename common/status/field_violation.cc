#include "common/status/field_violation.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace trelink {
namespace {

google::rpc::BadRequest BadRequestOf(const absl::Status& status) {
  google::rpc::BadRequest request;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kBadRequestTypeUrl)) {
    // A payload that does not parse names nothing; the message still does.
    if (!request.ParseFromString(std::string(*payload))) request.Clear();
  }
  return request;
}

void SetBadRequest(absl::Status& status, const google::rpc::BadRequest& request) {
  if (request.field_violations().empty()) {
    status.ErasePayload(kBadRequestTypeUrl);
  } else {
    status.SetPayload(kBadRequestTypeUrl, absl::Cord(request.SerializeAsString()));
  }
}

// A copy of `status` with another message and the same payloads.
absl::Status Remessaged(const absl::Status& status, absl::string_view message) {
  absl::Status result(status.code(), message);
  status.ForEachPayload(
      [&result](absl::string_view url, const absl::Cord& payload) { result.SetPayload(url, payload); });
  return result;
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view description, absl::string_view context,
                        absl::StatusCode code) {
  absl::Status status(code, absl::StrCat(context, field, ": ", description));
  google::rpc::BadRequest request;
  google::rpc::BadRequest::FieldViolation* violation = request.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(description));
  SetBadRequest(status, request);
  return status;
}

absl::Status NestedFieldError(const absl::Status& inner, absl::string_view parent, absl::string_view context) {
  if (inner.ok()) return inner;
  absl::Status status = Remessaged(inner, absl::StrCat(context, parent, ".", inner.message()));
  google::rpc::BadRequest request = BadRequestOf(inner);
  for (google::rpc::BadRequest::FieldViolation& violation : *request.mutable_field_violations()) {
    violation.set_field(absl::StrCat(parent, ".", violation.field()));
  }
  SetBadRequest(status, request);
  return status;
}

absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  if (status.ok() || context.empty()) return status;
  return Remessaged(status, absl::StrCat(context, status.message()));
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> violations;
  const google::rpc::BadRequest request = BadRequestOf(status);
  for (const auto& violation : request.field_violations()) {
    violations.push_back({violation.field(), violation.description()});
  }
  return violations;
}

}  // namespace trelink
