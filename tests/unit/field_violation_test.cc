// Field violations from domain code to a gRPC status and back: the path
// grows as the error travels up (a participant's field inside a record
// inside a batch), the context stays out of the path, and the details that
// reach a client are a google.rpc.Status holding a google.rpc.BadRequest.
#include "common/status/field_violation.h"

#include <gtest/gtest.h>

#include "common/server/grpc_status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace trelink {
namespace {

TEST(FieldViolationTest, NamesTheFieldInMessageAndPayload) {
  const absl::Status status = FieldError("sex", "sex must be F, M or U");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "sex: sex must be F, M or U");
  const std::vector<FieldViolation> violations = FieldViolations(status);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "sex");
  EXPECT_EQ(violations[0].description, "sex must be F, M or U");
}

TEST(FieldViolationTest, NestingPrefixesPathAndMessageButContextOnlyTheMessage) {
  const absl::Status inner = FieldError("postcode", "not a UK postcode");
  const absl::Status outer = NestedFieldError(inner, "records[3].participants[0].identifiers", "batch b-1: ");
  EXPECT_EQ(outer.message(), "batch b-1: records[3].participants[0].identifiers.postcode: not a UK postcode");
  const std::vector<FieldViolation> violations = FieldViolations(outer);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "records[3].participants[0].identifiers.postcode");

  const absl::Status placed = WithContext(FieldError("records", "none", "", absl::StatusCode::kResourceExhausted), "batch b-2: ");
  EXPECT_EQ(placed.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(placed.message(), "batch b-2: records: none");
  ASSERT_EQ(FieldViolations(placed).size(), 1u);
  EXPECT_EQ(FieldViolations(placed)[0].field, "records");
}

TEST(FieldViolationTest, AStatusWithoutFieldsNamesNone) {
  EXPECT_TRUE(FieldViolations(absl::InvalidArgumentError("x: y")).empty());
  EXPECT_TRUE(FieldViolations(NestedFieldError(absl::InternalError("disk"), "records[0]")).empty());
  EXPECT_TRUE(FieldViolations(absl::OkStatus()).empty());
}

TEST(FieldViolationTest, TravelsAsGoogleRpcStatusDetailsAndBack) {
  absl::Status status = NestedFieldError(FieldError("values", "at least one value"), "cohort.filters[1]");
  status.SetPayload("type.trelink/internal-note", absl::Cord("not for clients"));
  const grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wire.error_message(), "cohort.filters[1].values: at least one value");
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(wire.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rich.message(), wire.error_message());
  ASSERT_EQ(rich.details_size(), 1);  // the server's own payloads stay home
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rich.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "cohort.filters[1].values");
  EXPECT_EQ(bad_request.field_violations(0).description(), "at least one value");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(back).size(), 1u);
  EXPECT_EQ(FieldViolations(back)[0].field, "cohort.filters[1].values");
}

TEST(FieldViolationTest, AnErrorWithoutFieldsHasNoDetails) {
  const grpc::Status wire = ToGrpcStatus(absl::NotFoundError("project: not served"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(wire.error_details().empty());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace trelink
