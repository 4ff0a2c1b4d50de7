// Structured details carried by an absl::Status from the core to the gRPC layer, which turns
// them into standard google.rpc error details (ErrorInfo, RetryInfo, Help). Never holds a
// secret or a token.
#ifndef TOKEND_SERVICE_CORE_ERROR_DETAILS_H_
#define TOKEND_SERVICE_CORE_ERROR_DETAILS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tokend {

struct ErrorDetails {
  std::string reason;          // e.g. "AADSTS700016", or "IDP_UNAVAILABLE".
  std::string error;           // The identity provider's `error`, e.g. "unauthorized_client".
  std::string trace_id;        // Entra's trace id, for a support case.
  std::string correlation_id;  // Entra's correlation id.
  std::string consent_url;     // Where an administrator grants the missing consent.
  absl::Duration retry_after = absl::ZeroDuration();  // When retrying may succeed; 0: unknown.
};

// Returns `status` with `details` attached (replacing earlier ones). `status` must not be OK.
absl::Status WithErrorDetails(absl::Status status, const ErrorDetails& details);

// The details attached to `status`, if any.
std::optional<ErrorDetails> GetErrorDetails(const absl::Status& status);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_ERROR_DETAILS_H_
