// TokenClient: a C++ client for tokend. Every call carries a deadline (ClientOptions::timeout)
// and returns typed results as absl::StatusOr, with gRPC's status code and message kept.
// Thread-safe: one TokenClient may be shared by many threads.
#ifndef TOKEND_CLIENT_TOKEN_CLIENT_H_
#define TOKEND_CLIENT_TOKEN_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tokend/v1/tokend.grpc.pb.h"

namespace tokend {

struct ClientOptions {
  absl::Duration timeout = absl::Seconds(5);  // Deadline of each call.
};

enum class HealthStatus {
  kServing,         // Ready to answer.
  kNotServing,      // Up, but not ready (starting, no usable credential, or draining).
  kServiceUnknown,  // The server does not know the service asked about.
  kUnknown,         // The server answered UNKNOWN.
};

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "UNKNOWN".
const char* HealthStatusName(HealthStatus status);

class TokenClient {
 public:
  // Connects lazily to `address`: "unix:///path/to.sock", "unix:/path/to.sock" or "host:port".
  // INVALID_ARGUMENT for an empty address.
  static absl::StatusOr<std::unique_ptr<TokenClient>> Create(const std::string& address,
                                                             const ClientOptions& options = {});

  // Returns the consent link; the server's status on failure (INVALID_ARGUMENT naming the
  // field, NOT_FOUND for an unknown credential, UNAVAILABLE / DEADLINE_EXCEEDED when tokend
  // cannot be reached).
  absl::StatusOr<std::string> ConsentUrl(const v1::ConsentUrlRequest& request) const;

  // Returns an access token (from tokend's cache or a new one). Errors as the server sends
  // them; ErrorDetailsOf() reads the details (AADSTS code, consent URL, retry delay).
  absl::StatusOr<v1::GetTokenResponse> GetToken(const v1::GetTokenRequest& request) const;

  // Calls `on_token` with the token now and after every renewal, until `on_token` returns
  // false, the stream fails, or the server ends it. Returns how the stream ended (OK when
  // on_token stopped it or the server ended it cleanly). No deadline: a watch lasts.
  absl::Status WatchToken(const v1::GetTokenRequest& request,
                          const std::function<bool(const v1::GetTokenResponse&)>& on_token) const;

  // Validates a token. An invalid token is an OK answer with valid() false and the failure.
  absl::StatusOr<v1::ValidateTokenResponse> ValidateToken(
      const v1::ValidateTokenRequest& request) const;

  // Asks grpc.health.v1.Health/Check for `service` ("" for the server as a whole).
  absl::StatusOr<HealthStatus> Health(const std::string& service = "") const;

 private:
  TokenClient(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options);
  void SetDeadline(grpc::ClientContext* context) const;

  // Constant after construction.
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::TokenService::Stub> stub_;
  const std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// Details tokend attaches to an error (google.rpc ErrorInfo, RetryInfo, Help).
struct ErrorDetails {
  std::string reason;          // e.g. "AADSTS700016".
  std::string error;           // The identity provider's `error`, e.g. "unauthorized_client".
  std::string trace_id;        // Entra's trace id.
  std::string correlation_id;  // Entra's correlation id.
  std::string consent_url;     // Where an administrator grants the missing consent.
  absl::Duration retry_after = absl::ZeroDuration();  // When a retry may succeed.
};

// Converts a gRPC status to an absl::Status with the same code and message, keeping its
// serialized details as a payload for ErrorDetailsOf().
absl::Status FromGrpcStatus(const grpc::Status& status);

// The details of an error returned by this client; empty fields when absent.
ErrorDetails ErrorDetailsOf(const absl::Status& status);

}  // namespace tokend

#endif  // TOKEND_CLIENT_TOKEN_CLIENT_H_
