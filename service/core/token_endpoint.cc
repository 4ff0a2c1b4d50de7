#include "service/core/token_endpoint.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "service/core/base64url.h"
#include "service/core/error_details.h"
#include "service/core/url_encoding.h"

namespace tokend {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxTargetLength = 2048;
constexpr size_t kMaxScopes = 16;
constexpr size_t kMaxResponseBody = 64 * 1024;
constexpr int64_t kMaxLifetimeSeconds = 7 * 24 * 3600;
constexpr absl::Duration kMaxRetryAfter = absl::Hours(1);

bool HasSpaceOrControl(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f) return true;
  }
  return false;
}

// A JSON number or a string of digits (v1 sends "3599"), as MSAL accepts both.
std::optional<int64_t> ReadInt(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  if (it->is_string()) {
    int64_t v = 0;
    if (absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  }
  return std::nullopt;
}

std::string ReadString(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// Reads `roles` and `tid` from the token's payload without verifying it: tokend is the
// token's holder here, not its audience. An opaque token simply has neither.
void ReadClaims(absl::string_view jwt, AccessToken* token) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return;
  std::optional<std::string> payload = Base64UrlDecode(parts[1]);
  if (!payload.has_value()) return;
  Json claims = Json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) return;
  token->tenant_id = ReadString(claims, "tid");
  auto roles = claims.find("roles");
  if (roles != claims.end() && roles->is_array()) {
    for (const Json& role : *roles) {
      if (role.is_string()) token->roles.push_back(role.get<std::string>());
    }
  }
}

// Entra's codes that mean "try again later" (ENTRA.md section 1 table).
bool IsTransientAadsts(int code) {
  switch (code) {
    case 50033:
    case 90006:
    case 90033:
    case 90090:
    case 90024:
    case 90055:
    case 50196:
      return true;
    default:
      return false;
  }
}

// tokend's own explanation of the configuration errors ENTRA.md lists.
std::string Explain(int code, const std::string& error) {
  switch (code) {
    case 7000215:
      return "the client secret is wrong (check that client-secret holds the secret's value, "
             "not its ID)";
    case 7000222:
      return "the client secret has expired; create a new one and update the Secret";
    case 700016:
      return "the application is not present in the tenant: a tenant administrator must grant "
             "consent (see the consent URL), or the tenant id is wrong";
    case 90002:
      return "the tenant does not exist (check tenant-id, and that the authority host is the "
             "tenant's cloud)";
    case 70011:
    case 1002012:
      return "the scope is invalid: client credentials need <resource>/.default";
    case 700022:
      return "the scopes name several resources: ask for one resource per token";
    case 500011:
      return "the resource is not present in the tenant (e.g. the API is not provisioned there "
             "or the resource URI is misspelt)";
    case 7000218:
    case 900144:
      return "the request lacks the client secret or assertion";
    case 9001023:
      return "the client-credentials grant needs a specific tenant, not common or organizations";
    case 901002:
      return "the v2 endpoint does not take a resource: use scopes";
    case 70021:
      return "no federated identity credential of the application matches the presented "
             "token: one must name the token's issuer (the cluster's OIDC issuer URL), its "
             "subject (system:serviceaccount:<namespace>:<service account>) and its audience "
             "(api://AzureADTokenExchange)";
    case 700024:
      return "the client assertion is not within its valid time range: the federated "
             "(service-account) token has expired, as when the projected token file is no "
             "longer refreshed, or this node's clock is off by minutes";
    case 700023:
      return "the client assertion's audience is not this tenant's token endpoint (check the "
             "tenant and that the authority host is the tenant's cloud)";
    case 700021:
      return "the client assertion's issuer and subject are not the client id";
    case 50027:
      return "the client assertion is not a well-formed JWT";
    case 50013:
      return "the client assertion is invalid (expired, malformed or already used)";
    case 90061:
      return "the identity provider could not fetch the federated token issuer's OpenID "
             "configuration (the cluster's OIDC issuer URL must be public)";
    case 7000112:
    case 70001:
      return "the application is disabled";
    case 65001:
    case 90094:
      return "consent has not been granted";
    case 700027:
    case 50012:
      return "the client assertion's signature was not accepted: the certificate is not one "
             "of the application's certificates (compare the thumbprints), or it has expired "
             "there";
    case 700030:
      return "the client assertion's certificate is not accepted for this application";
    default:
      break;
  }
  if (error == "invalid_client") return "the client credentials were rejected";
  if (error == "unauthorized_client") return "the application is not authorized in the tenant";
  if (error == "invalid_scope") return "the scope is invalid";
  if (error == "invalid_tenant") return "the tenant is invalid";
  if (error == "invalid_resource") return "the resource is invalid";
  return "the request was rejected";
}

int ReadAadstsCode(const Json& body) {
  auto codes = body.find("error_codes");
  if (codes != body.end() && codes->is_array() && !codes->empty() &&
      (*codes)[0].is_number_integer()) {
    return (*codes)[0].get<int>();
  }
  std::string description = ReadString(body, "error_description");
  size_t at = description.find("AADSTS");
  if (at == std::string::npos) return 0;
  int code = 0;
  size_t end = at + 6;
  while (end < description.size() && absl::ascii_isdigit(description[end])) ++end;
  if (!absl::SimpleAtoi(description.substr(at + 6, end - at - 6), &code)) return 0;
  return code;
}

std::string SafeId(const std::string& id) {
  // Trace and correlation ids are GUIDs; anything else from a hostile reply is dropped.
  if (id.size() > 64) return "";
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != '-') return "";
  }
  return id;
}

}  // namespace

absl::Status ValidateTokenTarget(const TokenTarget& target) {
  if (target.scopes.empty() == target.resource.empty()) {
    return absl::InvalidArgumentError(
        "scopes, resource: give exactly one: scopes for the v2 endpoint (e.g. "
        "https://api.securitycenter.microsoft.com/.default) or resource for v1");
  }
  if (target.scopes.size() > kMaxScopes) return absl::InvalidArgumentError("scopes: too many");
  for (const std::string& scope : target.scopes) {
    if (scope.empty() || scope.size() > kMaxTargetLength || HasSpaceOrControl(scope)) {
      return absl::InvalidArgumentError(
          "scopes: each scope must be non-empty, without spaces, and at most 2048 bytes");
    }
  }
  if (target.resource.size() > kMaxTargetLength || HasSpaceOrControl(target.resource)) {
    return absl::InvalidArgumentError("resource: must be without spaces and at most 2048 bytes");
  }
  return absl::OkStatus();
}

std::string TokenEndpointUrl(const std::string& authority, const std::string& tenant, bool v2) {
  return absl::StrCat(authority, "/", PercentEncode(tenant),
                      v2 ? "/oauth2/v2.0/token" : "/oauth2/token");
}

HttpRequest BuildTokenRequest(const std::string& url, const std::string& client_id,
                              const TokenTarget& target, const ClientAuthentication& authentication,
                              absl::Duration timeout) {
  HttpRequest request;
  request.method = "POST";
  request.timeout = timeout;
  request.url = url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"},
                     {"x-ms-lib-capability", "retry-after, h429"}};
  std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "client_credentials"},
                                                           {"client_id", client_id}};
  if (target.v2()) {
    form.emplace_back("scope", absl::StrJoin(target.scopes, " "));
  } else {
    form.emplace_back("resource", target.resource);
  }
  // The secret parts are encoded straight into the one buffer that SecretString wipes, after
  // everything else, and AppendPercentEncoded reserves their room first: no copy of a secret
  // is left in a temporary or in a buffer given up as the body grows.
  std::string body = BuildQuery(form);
  if (!authentication.client_assertion.empty()) {
    absl::StrAppend(&body, "&client_assertion_type=", PercentEncode(kJwtBearerAssertionType),
                    "&client_assertion=");
    AppendPercentEncoded(authentication.client_assertion.Reveal(), &body);
  } else {
    body += "&client_secret=";
    AppendPercentEncoded(authentication.client_secret.Reveal(), &body);
  }
  request.body = SecretString(std::move(body));
  return request;
}

HttpRequest BuildTokenRequest(const Credential& credential, const std::string& authority,
                              const std::string& tenant, const TokenTarget& target,
                              absl::Duration timeout) {
  ClientAuthentication authentication;
  authentication.client_secret = credential.client_secret;
  return BuildTokenRequest(TokenEndpointUrl(authority, tenant, target.v2()), credential.client_id,
                           target, authentication, timeout);
}

absl::StatusOr<AccessToken> ParseTokenResponse(const std::string& body, absl::Time now) {
  if (body.size() > kMaxResponseBody) {
    return absl::UnavailableError("identity provider reply is too large");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::UnavailableError("identity provider reply is not JSON");
  auto access_token = j.find("access_token");
  if (access_token == j.end() || !access_token->is_string() ||
      access_token->get_ref<const std::string&>().empty()) {
    return absl::UnavailableError("identity provider reply has no access_token");
  }
  AccessToken token;
  token.obtained_at = now;
  token.token_type = ReadString(j, "token_type");
  if (token.token_type.empty()) token.token_type = "Bearer";
  std::optional<int64_t> expires_in = ReadInt(j, "expires_in");
  std::optional<int64_t> expires_on = ReadInt(j, "expires_on");
  if (expires_in.has_value()) {
    if (*expires_in <= 0 || *expires_in > kMaxLifetimeSeconds) {
      return absl::UnavailableError("identity provider reply has an implausible expires_in");
    }
    token.expires_at = now + absl::Seconds(*expires_in);
  } else if (expires_on.has_value()) {
    token.expires_at = absl::FromUnixSeconds(*expires_on);
    if (token.expires_at <= now || token.expires_at > now + absl::Seconds(kMaxLifetimeSeconds)) {
      return absl::UnavailableError("identity provider reply has an implausible expires_on");
    }
  } else {
    return absl::UnavailableError("identity provider reply has no expires_in");
  }
  if (std::optional<int64_t> refresh_in = ReadInt(j, "refresh_in");
      refresh_in.has_value() && *refresh_in > 0 &&
      now + absl::Seconds(*refresh_in) < token.expires_at) {
    token.refresh_at = now + absl::Seconds(*refresh_in);
  }
  token.value = SecretString(access_token->get<std::string>());
  ReadClaims(token.value.Reveal(), &token);
  return token;
}

std::optional<absl::Duration> ParseRetryAfter(const std::string& value, absl::Time now) {
  std::string v(absl::StripAsciiWhitespace(value));
  if (v.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(v, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return std::min(absl::Seconds(seconds), kMaxRetryAfter);
  }
  absl::Time when;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", v, absl::UTCTimeZone(), &when, &error)) {
    return std::clamp(when - now, absl::ZeroDuration(), kMaxRetryAfter);
  }
  return std::nullopt;
}

absl::Status ClassifyTokenError(const HttpResponse& response, absl::Time now) {
  Json body = response.body.size() <= kMaxResponseBody
                  ? Json::parse(response.body, nullptr, /*allow_exceptions=*/false)
                  : Json();
  ErrorDetails details;
  int code = 0;
  if (body.is_object()) {
    code = ReadAadstsCode(body);
    details.error = ReadString(body, "error");
    if (details.error.size() > 64 || HasSpaceOrControl(details.error)) details.error = "";
    details.trace_id = SafeId(ReadString(body, "trace_id"));
    details.correlation_id = SafeId(ReadString(body, "correlation_id"));
  }
  if (code != 0) details.reason = absl::StrCat("AADSTS", code);
  if (std::optional<absl::Duration> retry = ParseRetryAfter(response.Header("retry-after"), now)) {
    details.retry_after = *retry;
  }
  std::string ids;
  if (!details.trace_id.empty()) absl::StrAppend(&ids, " trace_id=", details.trace_id);
  if (!details.correlation_id.empty()) {
    absl::StrAppend(&ids, " correlation_id=", details.correlation_id);
  }

  bool transient = response.status == 429 || response.status >= 500 ||
                   details.error == "temporarily_unavailable" || IsTransientAadsts(code);
  if (transient) {
    if (details.reason.empty()) details.reason = absl::StrCat("HTTP_", response.status);
    return WithErrorDetails(
        absl::UnavailableError(absl::StrCat(
            "identity provider is ",
            response.status == 429 ? "throttling (HTTP 429)"
                                   : absl::StrCat("failing (HTTP ", response.status, ")"),
            code != 0 ? absl::StrCat(", ", details.reason) : "", ids)),
        details);
  }
  if (!body.is_object() || (details.error.empty() && code == 0)) {
    if (details.reason.empty()) details.reason = absl::StrCat("HTTP_", response.status);
    return WithErrorDetails(absl::FailedPreconditionError(absl::StrCat(
                                "identity provider answered HTTP ", response.status,
                                " without an OAuth error (check the authority host and tenant)")),
                            details);
  }
  return WithErrorDetails(
      absl::FailedPreconditionError(absl::StrCat(
          "identity provider rejected the request: ", code != 0 ? details.reason : details.error,
          code != 0 && !details.error.empty() ? absl::StrCat(" (", details.error, ")") : "", ": ",
          Explain(code, details.error), ids)),
      details);
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace tokend
