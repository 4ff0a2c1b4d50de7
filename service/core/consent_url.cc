#include "service/core/consent_url.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/status_macros.h"
#include "service/core/identifiers.h"
#include "service/core/url_encoding.h"

namespace tokend {
namespace {

constexpr size_t kMaxFieldLength = 2048;
constexpr size_t kMaxScopes = 32;

absl::Status CheckTenant(const ConsentRequest& request) {
  const std::string& tenant = request.tenant_id;
  if (tenant.empty() || IsTenantId(tenant)) return absl::OkStatus();
  if (request.kind == ConsentKind::kV2AdminConsent) {
    if (tenant == "organizations") return absl::OkStatus();
    if (tenant == "common") {
      return absl::InvalidArgumentError(
          "tenant_id: v2 admin consent needs a tenant id or \"organizations\", not \"common\"");
    }
  } else if (tenant == "common" || tenant == "organizations") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "tenant_id: must be a tenant GUID or a domain name such as contoso.onmicrosoft.com");
}

absl::Status CheckRedirectUri(absl::string_view uri) {
  if (uri.empty()) return absl::OkStatus();
  if (uri.size() > kMaxFieldLength) return absl::InvalidArgumentError("redirect_uri: too long");
  absl::StatusOr<ParsedUrl> parsed = ParseHttpUrl(uri);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "redirect_uri: must be an absolute https URL (it ", parsed.status().message(), ")"));
  }
  if (parsed->scheme == "http" && !IsLoopbackHost(parsed->host)) {
    return absl::InvalidArgumentError(
        "redirect_uri: must use https (http is accepted for localhost only)");
  }
  return absl::OkStatus();
}

absl::Status CheckScopes(const ConsentRequest& request) {
  if (request.kind != ConsentKind::kV2AdminConsent) {
    if (!request.scopes.empty()) {
      return absl::InvalidArgumentError(
          "scopes: only the v2 admin-consent kind takes scopes; the v1 kinds consent to every "
          "permission the application requests");
    }
    return absl::OkStatus();
  }
  if (request.scopes.empty()) {
    return absl::InvalidArgumentError(
        "scopes: v2 admin consent needs at least one scope, e.g. "
        "https://api.securitycenter.microsoft.com/.default");
  }
  if (request.scopes.size() > kMaxScopes) return absl::InvalidArgumentError("scopes: too many");
  for (const std::string& scope : request.scopes) {
    if (scope.empty() || scope.size() > kMaxFieldLength) {
      return absl::InvalidArgumentError("scopes: a scope is empty or too long");
    }
    for (char c : scope) {
      if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f) {
        return absl::InvalidArgumentError(
            "scopes: a scope must not contain spaces or control characters");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BuildConsentUrl(const ConsentRequest& request,
                                            absl::string_view client_id,
                                            absl::string_view authority_host) {
  TOKEND_RETURN_IF_ERROR(CheckTenant(request));
  TOKEND_RETURN_IF_ERROR(CheckRedirectUri(request.redirect_uri));
  TOKEND_RETURN_IF_ERROR(CheckScopes(request));
  if (request.state.size() > kMaxFieldLength) {
    return absl::InvalidArgumentError("state: too long");
  }

  std::vector<std::pair<std::string, std::string>> query;
  std::string tenant = request.tenant_id;
  std::string path;
  if (request.kind == ConsentKind::kV2AdminConsent) {
    if (tenant.empty()) tenant = "organizations";
    path = "/v2.0/adminconsent";
    query.emplace_back("client_id", std::string(client_id));
    query.emplace_back("scope", absl::StrJoin(request.scopes, " "));
  } else {
    if (tenant.empty()) tenant = "common";
    path = "/oauth2/authorize";
    // The parameter order of the Defender for Endpoint guide's link.
    query.emplace_back("prompt",
                       request.kind == ConsentKind::kV1Consent ? "consent" : "admin_consent");
    query.emplace_back("client_id", std::string(client_id));
    query.emplace_back("response_type", "code");
    if (request.kind == ConsentKind::kV1Consent) query.emplace_back("sso_reload", "true");
  }
  if (!request.redirect_uri.empty()) query.emplace_back("redirect_uri", request.redirect_uri);
  if (!request.state.empty()) query.emplace_back("state", request.state);
  return absl::StrCat(authority_host, "/", PercentEncode(tenant), path, "?", BuildQuery(query));
}

}  // namespace tokend
