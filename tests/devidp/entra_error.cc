#include "tests/devidp/entra_error.h"

#include "absl/strings/str_cat.h"

namespace tokend {
namespace devidp {
namespace {

EntraError Make(int http_status, const char* error, int code, std::string message) {
  return EntraError{http_status, error, code, std::move(message)};
}

}  // namespace

EntraError EntraError::InvalidClientSecret(absl::string_view client_id) {
  return Make(401, "invalid_client", 7000215,
              absl::StrCat("Invalid client secret provided. Ensure the secret being sent in the "
                           "request is the client secret value, not the client secret ID, for a "
                           "secret added to app '",
                           client_id, "'."));
}

EntraError EntraError::ExpiredClientSecret(absl::string_view client_id) {
  return Make(401, "invalid_client", 7000222,
              absl::StrCat("The provided client secret keys for app '", client_id,
                           "' are expired. Visit the Azure portal to create new keys for your "
                           "app: https://aka.ms/NewClientSecret, or consider using certificate "
                           "credentials for added security: https://aka.ms/certCreds."));
}

EntraError EntraError::MalformedClientAssertion(absl::string_view why) {
  return Make(400, "invalid_request", 50027,
              absl::StrCat("JWT token is invalid or malformed (client assertion: ", why, ")."));
}

EntraError EntraError::AssertionKeyNotFound(absl::string_view thumbprint) {
  return Make(401, "invalid_client", 700027,
              absl::StrCat("Client assertion failed signature validation. [Reason - The key was "
                           "not found., Thumbprint of key used by client: '",
                           thumbprint,
                           "'. Please visit the Azure Portal, Graph Explorer or directly use MS "
                           "Graph to see configured keys for app.]"));
}

EntraError EntraError::AssertionBadSignature() {
  return Make(401, "invalid_client", 700027,
              "Client assertion failed signature validation. [Reason - The signature does not "
              "match the key.]");
}

EntraError EntraError::AssertionWrongSubject() {
  return Make(401, "invalid_client", 700021,
              "Client assertion application identifier doesn't match 'client_id' parameter. "
              "Review the documentation at "
              "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .");
}

EntraError EntraError::AssertionWrongAudience() {
  return Make(401, "invalid_client", 700023,
              "Client assertion audience claim does not match Realm issuer. Review the "
              "documentation at "
              "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .");
}

EntraError EntraError::AssertionOutsideTimeRange(absl::Time now, absl::Time not_before,
                                                 absl::Time expires) {
  auto format = [](absl::Time t) {
    return absl::FormatTime("%m/%d/%Y %H:%M:%S", t, absl::UTCTimeZone());
  };
  return Make(401, "invalid_client", 700024,
              absl::StrCat("Client assertion is not within its valid time range. Current time: ",
                           format(now), ", assertion valid from ", format(not_before),
                           ", expiry time of assertion ", format(expires), "."));
}

EntraError EntraError::AssertionReplayed() {
  return Make(401, "invalid_client", 50013,
              "Assertion is invalid: its jti has already been used by another assertion "
              "(replay; tokend-devidp accepts the same assertion again, as Entra does, but not a "
              "new one with a used jti).");
}

EntraError EntraError::NoMatchingFederatedCredential(absl::string_view issuer,
                                                     absl::string_view subject,
                                                     absl::string_view audience) {
  return Make(
      400, "invalid_request", 70021,
      absl::StrCat("No matching federated identity record found for presented assertion. "
                   "Assertion Issuer: '",
                   issuer, "'. Assertion Subject: '", subject, "'. Assertion Audience: '", audience,
                   "'. https://learn.microsoft.com/entra/workload-id/"
                   "workload-identity-federation"));
}

EntraError EntraError::AppNotInTenant(absl::string_view client_id, absl::string_view tenant) {
  return Make(400, "unauthorized_client", 700016,
              absl::StrCat("Application with identifier '", client_id,
                           "' was not found in the directory '", tenant,
                           "'. This can happen if the application has not been installed by the "
                           "administrator of the tenant or consented to by any user in the "
                           "tenant. You may have sent your authentication request to the wrong "
                           "tenant."));
}

EntraError EntraError::TenantNotFound(absl::string_view tenant) {
  return Make(400, "invalid_tenant", 90002,
              absl::StrCat("Tenant '", tenant,
                           "' not found. Check to make sure you have the correct tenant ID and "
                           "are signing into the correct cloud."));
}

EntraError EntraError::ScopeWithoutDefault(absl::string_view scope) {
  return Make(400, "invalid_scope", 1002012,
              absl::StrCat("The provided value for scope ", scope,
                           " is not valid. Client credential flows must have a scope value with "
                           "/.default suffixed to the resource identifier (application ID URI)."));
}

EntraError EntraError::ResourceParameterOnV2() {
  return Make(400, "invalid_request", 901002, "The 'resource' request parameter is not supported.");
}

EntraError EntraError::ResourceNotFound(absl::string_view resource, absl::string_view tenant) {
  return Make(400, "invalid_resource", 500011,
              absl::StrCat("The resource principal named ", resource,
                           " was not found in the tenant named ", tenant,
                           ". This can happen if the application has not been installed by the "
                           "administrator of the tenant or consented to by any user in the "
                           "tenant. You might have sent your authentication request to the wrong "
                           "tenant."));
}

EntraError EntraError::MissingClientCredential() {
  return Make(400, "invalid_request", 7000218,
              "The request body must contain the following parameter: 'client_assertion' or "
              "'client_secret'.");
}

EntraError EntraError::UnsupportedGrantType(absl::string_view grant_type) {
  return Make(400, "unsupported_grant_type", 70003,
              absl::StrCat("The app requested an unsupported grant type '", grant_type, "'."));
}

EntraError EntraError::GrantOnMultiTenantEndpoint() {
  return Make(400, "invalid_request", 9001023,
              "The grant type isn't supported over the /common or /consumers endpoints. Please "
              "use the /organizations or tenant-specific endpoint.");
}

EntraError EntraError::SeveralResourcesInScope(absl::string_view scope) {
  return Make(400, "invalid_scope", 700022,
              absl::StrCat("The provided value for the input parameter scope is not valid "
                           "because it contains more than one resource. Scope ",
                           scope, " is not valid."));
}

EntraError EntraError::MissingParameter(absl::string_view name) {
  return Make(400, "invalid_request", 900144,
              absl::StrCat("The request body must contain the following parameter: '", name, "'."));
}

EntraError EntraError::MalformedRequest(absl::string_view why) {
  return Make(400, "invalid_request", 9002313,
              absl::StrCat("Invalid request. Request is malformed or invalid: ", why));
}

EntraError EntraError::ForInjectedStatus(int http_status) {
  if (http_status == 429) {
    return Make(429, "temporarily_unavailable", 90055,
                "TenantThrottlingError: there are too many incoming requests (injected by "
                "tokend-devidp).");
  }
  if (http_status >= 500) {
    return Make(http_status, "temporarily_unavailable", 90033,
                "A transient error has occurred. Please try again (injected by tokend-devidp).");
  }
  return Make(http_status, "invalid_request", 9002313,
              "Invalid request (injected by tokend-devidp).");
}

nlohmann::ordered_json EntraError::ToJson(absl::Time now, absl::string_view trace_id,
                                          absl::string_view correlation_id) const {
  const std::string timestamp = EntraTimestamp(now);
  nlohmann::ordered_json body;
  body["error"] = error;
  body["error_description"] =
      absl::StrCat("AADSTS", code, ": ", message, "\r\nTrace ID: ", trace_id,
                   "\r\nCorrelation ID: ", correlation_id, "\r\nTimestamp: ", timestamp);
  body["error_codes"] = nlohmann::ordered_json::array({code});
  body["timestamp"] = timestamp;
  body["trace_id"] = std::string(trace_id);
  body["correlation_id"] = std::string(correlation_id);
  body["error_uri"] = absl::StrCat("https://login.microsoftonline.com/error?code=", code);
  return body;
}

std::string EntraTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace devidp
}  // namespace tokend
