#include "service/core/token_fetcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/logging.h"
#include "service/core/cloud.h"
#include "service/core/consent_url.h"
#include "service/core/error_details.h"

namespace tokend {
namespace {

// The AADSTS codes by which Entra refuses a client assertion: their messages say what the
// assertion was made from (the certificate's thumbprint, or the token file).
bool IsAssertionRejection(const std::string& reason) {
  for (const char* code :
       {"AADSTS70021", "AADSTS700021", "AADSTS700023", "AADSTS700024", "AADSTS700027",
        "AADSTS700030", "AADSTS50012", "AADSTS50013", "AADSTS50027", "AADSTS90061"}) {
    if (reason == code) return true;
  }
  return false;
}

// What a request that got no HTTP reply ran into, by the HttpClient's code.
const char* DescribeTransportFailure(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kDeadlineExceeded:
      return "identity provider did not answer in time";
    case absl::StatusCode::kFailedPrecondition:
      return "cannot verify the identity provider's TLS certificate";
    case absl::StatusCode::kResourceExhausted:
      return "identity provider's reply is too large";
    case absl::StatusCode::kUnavailable:
      return "identity provider unreachable";
    default:
      return "request to the identity provider failed";
  }
}

}  // namespace

TokenFetcher::TokenFetcher(HttpClient& http, Clock& clock, std::string default_authority,
                           absl::Duration timeout, std::string region)
    : http_(http),
      clock_(clock),
      default_authority_(std::move(default_authority)),
      timeout_(timeout),
      region_(std::move(region)) {}

absl::StatusOr<AccessToken> TokenFetcher::Fetch(const Credential& credential,
                                                const std::string& tenant,
                                                const TokenTarget& target) {
  const std::string& authority = AuthorityFor(credential);
  // The global endpoint is the assertion's audience even when the request goes to a region.
  const std::string audience = TokenEndpointUrl(authority, tenant, target.v2());
  const std::string url = region_.empty() ? audience
                                          : TokenEndpointUrl(RegionalAuthority(authority, region_),
                                                             tenant, target.v2());
  ClientAuthentication authentication;
  if (credential.kind == CredentialKind::kClientSecret) {
    authentication.client_secret = credential.client_secret;
  } else {
    absl::StatusOr<SecretString> assertion =
        credential.assertion == nullptr
            ? absl::FailedPreconditionError("has no client assertion source")
            : credential.assertion->Assertion(credential.client_id, audience, clock_.TimeNow());
    if (!assertion.ok()) {
      LogWarning("client assertion unavailable",
                 {{"credential", credential.name},
                  {"tenant", tenant},
                  {"error", std::string(assertion.status().message())}});
      return absl::Status(
          assertion.status().code(),
          absl::StrCat("credential \"", credential.name, "\": ", assertion.status().message()));
    }
    authentication.client_assertion = *std::move(assertion);
  }
  const absl::Time start = clock_.SteadyNow();
  absl::StatusOr<HttpResponse> response =
      http_.Send(BuildTokenRequest(url, credential.client_id, target, authentication, timeout_));
  const int64_t ms = absl::ToInt64Milliseconds(clock_.SteadyNow() - start);
  // The token's times (obtained_at, expires_at, refresh_at) are on the wall clock, as are the
  // provider's (expires_on, Retry-After dates); TokenCache measures their lifetime on the steady
  // clock from the moment Fetch() returns.
  const absl::Time now = clock_.TimeNow();
  const char* endpoint = target.v2() ? "v2" : "v1";
  if (!response.ok()) {
    LogWarning("token request failed", {{"credential", credential.name},
                                        {"tenant", tenant},
                                        {"endpoint", endpoint},
                                        {"duration_ms", ms},
                                        {"error", std::string(response.status().message())}});
    return absl::Status(response.status().code(),
                        absl::StrCat(DescribeTransportFailure(response.status().code()), ": ",
                                     response.status().message()));
  }
  if (response->status != 200) {
    absl::Status status = ClassifyTokenError(*response, now);
    std::optional<ErrorDetails> details = GetErrorDetails(status);
    if (details.has_value() && credential.assertion != nullptr &&
        IsAssertionRejection(details->reason)) {
      status = WithErrorDetails(
          absl::Status(status.code(), absl::StrCat(status.message(), " client_assertion=\"",
                                                   credential.assertion->Describe(), "\"")),
          *details);
    }
    if (details.has_value() && details->reason == "AADSTS700016") {
      ConsentRequest consent;
      consent.kind = ConsentKind::kV1AdminConsent;
      consent.tenant_id = tenant;
      absl::StatusOr<std::string> url = BuildConsentUrl(consent, credential.client_id, authority);
      if (url.ok()) {
        details->consent_url = *url;
        status = WithErrorDetails(
            absl::Status(status.code(), absl::StrCat(status.message(), " consent_url=", *url)),
            *details);
      }
    }
    // "failed" for what is retried (429, 5xx, Entra's transient codes), "rejected" for what a
    // person must fix: the same words as tokend_token_renewals_total's outcomes.
    LogWarning(IsTransient(status) ? "token request failed" : "token request rejected",
               {{"credential", credential.name},
                {"tenant", tenant},
                {"endpoint", endpoint},
                {"http_status", response->status},
                {"duration_ms", ms},
                {"aadsts", details.has_value() ? details->reason : ""},
                {"trace_id", details.has_value() ? details->trace_id : ""},
                {"correlation_id", details.has_value() ? details->correlation_id : ""}});
    return status;
  }
  absl::StatusOr<AccessToken> token = ParseTokenResponse(response->body, now);
  if (!token.ok()) {
    LogWarning("token reply unreadable", {{"credential", credential.name},
                                          {"tenant", tenant},
                                          {"error", std::string(token.status().message())}});
    return token.status();
  }
  LogInfo("token obtained", {{"credential", credential.name},
                             {"tenant", tenant},
                             {"endpoint", endpoint},
                             {"duration_ms", ms},
                             {"expires_in_s", absl::ToInt64Seconds(token->expires_at - now)},
                             {"roles", static_cast<int64_t>(token->roles.size())}});
  if (token->roles.empty()) {
    LogWarning(
        "token has no roles: admin consent for the application's permissions is likely "
        "missing in the tenant",
        {{"credential", credential.name}, {"tenant", tenant}});
  }
  return token;
}

}  // namespace tokend
