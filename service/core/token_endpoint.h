// The client-credentials exchange with an Entra ID token endpoint (ENTRA.md sections 1 and 2):
// building the request (v2 with scopes, v1 with resource), reading both response shapes, and
// classifying failures into configuration errors (not retried) and transient ones (retried).
// Pure functions over HttpRequest/HttpResponse; thread-safe.
#ifndef TOKEND_SERVICE_CORE_TOKEN_ENDPOINT_H_
#define TOKEND_SERVICE_CORE_TOKEN_ENDPOINT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"
#include "service/core/credential.h"
#include "service/core/http_client.h"

namespace tokend {

// What a token is requested for: exactly one of `scopes` (v2 endpoint) and `resource` (v1).
struct TokenTarget {
  std::vector<std::string> scopes;
  std::string resource;
  bool v2() const { return !scopes.empty(); }
};

// Checks a target: exactly one of scopes and resource, no empty or whitespace-bearing values,
// bounded sizes. INVALID_ARGUMENT naming the field ("scopes" or "resource").
absl::Status ValidateTokenTarget(const TokenTarget& target);

struct AccessToken {
  SecretString value;                    // The JWT. Never log it.
  std::string token_type;                // "Bearer".
  absl::Time obtained_at;                // When the response arrived.
  absl::Time expires_at;                 // obtained_at + expires_in (or expires_on).
  std::optional<absl::Time> refresh_at;  // obtained_at + refresh_in, when the reply had one.
  std::vector<std::string> roles;        // The token's `roles` claim (read, not verified).
  std::string tenant_id;                 // The token's `tid` claim.
};

// The token endpoint of `tenant` at `authority` (normalised, no trailing slash):
// {authority}/{tenant}/oauth2/v2.0/token for v2, {authority}/{tenant}/oauth2/token for v1.
std::string TokenEndpointUrl(const std::string& authority, const std::string& tenant, bool v2);

// The assertion type of RFC 7523 client authentication (certificates and federated tokens).
inline constexpr char kJwtBearerAssertionType[] =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// How the client proves who it is: exactly one of the two is set.
struct ClientAuthentication {
  SecretString client_secret;     // A client secret (CredentialKind::kClientSecret).
  SecretString client_assertion;  // A JWT (kCertificate, kWorkloadIdentity).
};

// The POST for the client-credentials grant of `client_id` to the token endpoint `url` (see
// TokenEndpointUrl), authenticated by `authentication`: client_secret, or client_assertion_type
// and client_assertion. REQUIRES: `target` valid; exactly one field of `authentication` set.
HttpRequest BuildTokenRequest(const std::string& url, const std::string& client_id,
                              const TokenTarget& target, const ClientAuthentication& authentication,
                              absl::Duration timeout);

// The same with the credential's client secret at `authority`/`tenant`.
// REQUIRES: credential.kind == kClientSecret; `target` valid.
HttpRequest BuildTokenRequest(const Credential& credential, const std::string& authority,
                              const std::string& tenant, const TokenTarget& target,
                              absl::Duration timeout);

// Reads a 200 response of either endpoint: numbers or numeric strings for expires_in,
// expires_on, refresh_in; `roles` and `tid` from the token's payload. UNAVAILABLE (transient:
// the provider misbehaved) when the body is not such a response.
absl::StatusOr<AccessToken> ParseTokenResponse(const std::string& body, absl::Time now);

// Turns a non-200 response into a status: FAILED_PRECONDITION for a rejected configuration
// (bad or expired secret, unknown tenant, app not in tenant, bad scope; never retried),
// UNAVAILABLE for 429, 5xx and Entra's transient codes (retried; RetryInfo from Retry-After).
// ErrorDetails carry the AADSTS code, trace and correlation ids. The message is tokend's own
// text for known codes and never includes the request. `now` reads HTTP-date Retry-After.
absl::Status ClassifyTokenError(const HttpResponse& response, absl::Time now);

// Reads a Retry-After header: delay-seconds or an HTTP-date, capped at one hour. nullopt when
// absent or unreadable.
std::optional<absl::Duration> ParseRetryAfter(const std::string& value, absl::Time now);

// True iff `status` (from ClassifyTokenError or the HttpClient) is worth retrying.
bool IsTransient(const absl::Status& status);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_TOKEN_ENDPOINT_H_
