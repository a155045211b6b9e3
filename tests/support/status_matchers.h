// gtest matchers for absl::Status and absl::StatusOr (Debian 12's Abseil
// ships none).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/status_macros.h"

namespace trelink::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

// Matches a status with `code` whose message contains `substring`.
MATCHER_P2(StatusIs, code, substring,
           std::string("has code ") + absl::StatusCodeToString(code) + " and a message containing \"" +
               std::string(substring) + "\"") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code && std::string(status.message()).find(substring) != std::string::npos;
}

}  // namespace trelink::testing

#define TRELINK_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                      \
  auto TRELINK_CONCAT_(statusor_, __LINE__) = (rexpr);                \
  ASSERT_TRUE(TRELINK_CONCAT_(statusor_, __LINE__).ok())              \
      << TRELINK_CONCAT_(statusor_, __LINE__).status().ToString();    \
  lhs = std::move(TRELINK_CONCAT_(statusor_, __LINE__)).value()
