#include "service/core/token_fetcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/logging.h"
#include "service/core/consent_url.h"
#include "service/core/error_details.h"

namespace tokend {

TokenFetcher::TokenFetcher(HttpClient& http, Clock& clock, std::string default_authority,
                           absl::Duration timeout)
    : http_(http),
      clock_(clock),
      default_authority_(std::move(default_authority)),
      timeout_(timeout) {}

absl::StatusOr<AccessToken> TokenFetcher::Fetch(const Credential& credential,
                                                const std::string& tenant,
                                                const TokenTarget& target) {
  if (credential.kind != CredentialKind::kClientSecret) {
    return absl::FailedPreconditionError(absl::StrCat(
        "credential \"", credential.name,
        "\" is a certificate credential; this version of tokend signs in with client secrets "
        "only"));
  }
  const std::string& authority = AuthorityFor(credential);
  absl::Time start = clock_.TimeNow();
  absl::StatusOr<HttpResponse> response =
      http_.Send(BuildTokenRequest(credential, authority, tenant, target, timeout_));
  absl::Time now = clock_.TimeNow();
  int64_t ms = absl::ToInt64Milliseconds(now - start);
  const char* endpoint = target.v2() ? "v2" : "v1";
  if (!response.ok()) {
    LogWarning("token request failed", {{"credential", credential.name},
                                        {"tenant", tenant},
                                        {"endpoint", endpoint},
                                        {"duration_ms", ms},
                                        {"error", std::string(response.status().message())}});
    return absl::Status(response.status().code(), absl::StrCat("identity provider unreachable: ",
                                                               response.status().message()));
  }
  if (response->status != 200) {
    absl::Status status = ClassifyTokenError(*response, now);
    std::optional<ErrorDetails> details = GetErrorDetails(status);
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
    LogWarning("token request rejected",
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
