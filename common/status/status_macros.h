// Early-return helpers for absl::Status / absl::StatusOr. Debian 12's Abseil
// predates ABSL_ASSIGN_OR_RETURN, so trelink carries its own.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TRELINK_CONCAT_INNER_(a, b) a##b
#define TRELINK_CONCAT_(a, b) TRELINK_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function if it is not OK.
#define TRELINK_RETURN_IF_ERROR(expr)                 \
  do {                                                \
    const ::absl::Status trelink_status_ = (expr);    \
    if (!trelink_status_.ok()) return trelink_status_; \
  } while (0)

// Evaluates `rexpr` (a StatusOr); on error returns its status, otherwise
// moves the value into `lhs` (which may be a declaration).
#define TRELINK_ASSIGN_OR_RETURN(lhs, rexpr) \
  TRELINK_ASSIGN_OR_RETURN_IMPL_(TRELINK_CONCAT_(trelink_statusor_, __LINE__), lhs, rexpr)

#define TRELINK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return statusor.status();              \
  lhs = std::move(statusor).value()
