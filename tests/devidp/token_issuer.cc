#include "tests/devidp/token_issuer.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/devidp/guid.h"

namespace tokend {
namespace devidp {
namespace {

constexpr absl::string_view kDefaultSuffix = "/.default";

}  // namespace

HttpReply TokenIssuer::Issue(const TokenRequest& request, absl::Time now,
                             absl::string_view correlation_id,
                             const std::vector<std::string>& base_urls) const {
  const std::string trace_id = RandomGuid();
  const std::string correlation =
      correlation_id.empty() ? RandomGuid() : std::string(correlation_id);
  auto fail = [&](const EntraError& error) {
    HttpReply reply =
        HttpReply::FromJson(error.http_status, error.ToJson(now, trace_id, correlation));
    reply.headers.emplace_back("x-ms-request-id", trace_id);
    return reply;
  };

  if (IsMultiTenantAlias(request.tenant)) return fail(EntraError::GrantOnMultiTenantEndpoint());
  const TenantConfig* tenant = directory_.FindTenant(request.tenant);
  if (tenant == nullptr) return fail(EntraError::TenantNotFound(request.tenant));
  if (!request.malformed.empty()) return fail(EntraError::MalformedRequest(request.malformed));

  std::string requested;
  if (absl::optional<EntraError> error = CheckParameters(request, &requested)) return fail(*error);
  if (!directory_.AppInTenant(*request.client_id, tenant->id)) {
    return fail(EntraError::AppNotInTenant(*request.client_id, tenant->id));
  }
  if (absl::optional<EntraError> error = AuthenticateClient(request, *tenant, base_urls, now)) {
    return fail(*error);
  }
  const ResourceConfig* resource = directory_.FindResource(requested);
  if (resource == nullptr) return fail(EntraError::ResourceNotFound(requested, tenant->id));

  MintRequest mint;
  mint.tenant_id = tenant->id;
  mint.client_id = absl::AsciiStrToLower(*request.client_id);
  mint.resource = resource;
  mint.requested_audience = requested;
  mint.roles = directory_.GrantedRoles(mint.client_id, tenant->id, resource->app_id);
  // appidacr/azpacr: "1" for a client secret, "2" for a certificate or federated assertion.
  mint.client_auth_class =
      request.credential.kind == ClientCredential::Kind::kAssertion ? "2" : "1";
  mint.issued_at = now;
  mint.lifetime = options_.lifetime;
  absl::StatusOr<std::string> token = minter_.Mint(mint);
  if (!token.ok()) {
    return fail(EntraError{500, "server_error", 90033, "token signing failed in tokend-devidp"});
  }
  HttpReply reply = SuccessReply(request.endpoint, requested, *token, now);
  reply.headers.emplace_back("x-ms-request-id", trace_id);
  return reply;
}

absl::optional<EntraError> TokenIssuer::CheckParameters(const TokenRequest& request,
                                                        std::string* requested) const {
  const std::string grant_type = request.grant_type.value_or("");
  if (grant_type != "client_credentials") return EntraError::UnsupportedGrantType(grant_type);

  if (request.endpoint == TokenEndpoint::kV2) {
    if (request.resource.has_value()) return EntraError::ResourceParameterOnV2();
    const std::string scope = request.scope.value_or("");
    std::vector<absl::string_view> scopes = absl::StrSplit(scope, ' ', absl::SkipWhitespace());
    if (scopes.empty()) return EntraError::MissingParameter("scope");
    std::set<std::string> resources;
    for (absl::string_view one : scopes) {
      if (!absl::EndsWithIgnoreCase(one, kDefaultSuffix)) {
        return EntraError::ScopeWithoutDefault(one);
      }
      one.remove_suffix(kDefaultSuffix.size());
      if (resources.insert(ResourceLookupKey(one)).second && resources.size() == 1) {
        *requested = std::string(one);
      }
    }
    if (resources.size() > 1) return EntraError::SeveralResourcesInScope(scope);
  } else {
    if (request.resource.value_or("").empty()) return EntraError::MissingParameter("resource");
    *requested = *request.resource;
  }

  if (request.client_id.value_or("").empty()) return EntraError::MissingParameter("client_id");
  return absl::nullopt;
}

absl::optional<EntraError> TokenIssuer::AuthenticateClient(
    const TokenRequest& request, const TenantConfig& tenant,
    const std::vector<std::string>& base_urls, absl::Time now) const {
  const std::string& client_id = *request.client_id;
  switch (request.credential.kind) {
    case ClientCredential::Kind::kNone:
      return EntraError::MissingClientCredential();
    case ClientCredential::Kind::kAssertion:
      return verifier_.Verify(request.credential.assertion_type, request.credential.assertion,
                              client_id, tenant, base_urls, now);
    case ClientCredential::Kind::kSecret:
      break;
  }
  switch (directory_.CheckSecret(client_id, request.credential.secret)) {
    case SecretCheck::kValid:
      return absl::nullopt;
    case SecretCheck::kExpired:
      return EntraError::ExpiredClientSecret(client_id);
    case SecretCheck::kWrong:
      return EntraError::InvalidClientSecret(client_id);
    case SecretCheck::kUnknownApp:
      break;
  }
  return EntraError::AppNotInTenant(client_id, tenant.id);
}

HttpReply TokenIssuer::SuccessReply(TokenEndpoint endpoint, const std::string& requested,
                                    const std::string& access_token, absl::Time now) const {
  const int64_t lifetime = absl::ToInt64Seconds(options_.lifetime);
  const int64_t issued = absl::ToUnixSeconds(now);
  nlohmann::ordered_json body;
  body["token_type"] = "Bearer";
  if (endpoint == TokenEndpoint::kV2) {
    body["expires_in"] = lifetime;
    body["ext_expires_in"] = lifetime;
    if (options_.refresh_in) body["refresh_in"] = absl::ToInt64Seconds(*options_.refresh_in);
  } else {
    // The v1 endpoint sends its numbers as JSON strings.
    body["expires_in"] = absl::StrCat(lifetime);
    body["ext_expires_in"] = absl::StrCat(lifetime);
    body["expires_on"] = absl::StrCat(issued + lifetime);
    body["not_before"] = absl::StrCat(issued);
    body["resource"] = requested;
    if (options_.refresh_in) {
      body["refresh_in"] = absl::StrCat(absl::ToInt64Seconds(*options_.refresh_in));
    }
  }
  body["access_token"] = access_token;
  HttpReply reply = HttpReply::FromJson(200, body);
  reply.headers.emplace_back("Cache-Control", "no-store, no-cache");
  reply.headers.emplace_back("Pragma", "no-cache");
  return reply;
}

}  // namespace devidp
}  // namespace tokend
