// Status propagation macros, for the abseil release Debian 12 ships (20220623), which has none.
// Shaped after private-join-and-compute's PJC_RETURN_IF_ERROR / PJC_ASSIGN_OR_RETURN so that a
// later switch to abseil's own macros is a rename.
#ifndef TOKEND_SERVICE_COMMON_STATUS_MACROS_H_
#define TOKEND_SERVICE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the current function if it is not OK.
#define TOKEND_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status tokend_status_ = (expr);          \
    if (!tokend_status_.ok()) return tokend_status_; \
  } while (0)

#define TOKEND_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define TOKEND_STATUS_MACROS_CONCAT_(x, y) TOKEND_STATUS_MACROS_CONCAT_INNER_(x, y)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, else moves the value
// into `lhs`, which may be a declaration (`auto x`) or an existing variable.
#define TOKEND_ASSIGN_OR_RETURN(lhs, rexpr)                                                    \
  TOKEND_ASSIGN_OR_RETURN_IMPL_(TOKEND_STATUS_MACROS_CONCAT_(tokend_statusor_, __LINE__), lhs, \
                                rexpr)

#define TOKEND_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

#endif  // TOKEND_SERVICE_COMMON_STATUS_MACROS_H_
