// The dev IdP's directory model: tenants, resources (APIs that tokens are issued for) and apps
// (confidential clients), plus token lifetime settings. Loaded from JSON (see README.md) or
// built-in defaults. A plain value type; not synchronised.
#ifndef TOKEND_TESTS_DEVIDP_IDP_CONFIG_H_
#define TOKEND_TESTS_DEVIDP_IDP_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace tokend {
namespace devidp {

// Built-in default directory (also documented in README.md).
inline constexpr char kDefaultTenantId[] = "11111111-1111-1111-1111-111111111111";
inline constexpr char kDefaultTenantDomain[] = "contoso.onmicrosoft.com";
inline constexpr char kOtherTenantId[] = "22222222-2222-2222-2222-222222222222";
inline constexpr char kOtherTenantDomain[] = "fabrikam.onmicrosoft.com";
inline constexpr char kDefaultClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
inline constexpr char kDefaultClientSecret[] = "dev-secret-1";
inline constexpr char kDefaultExpiredClientSecret[] = "dev-secret-expired";
inline constexpr char kDefenderAppId[] = "fc780465-2017-40d4-a0c5-307022471b92";
inline constexpr char kDefenderResource[] = "https://api.securitycenter.microsoft.com";
inline constexpr char kTestApiAppId[] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
inline constexpr char kTestApiResource[] = "api://tokend-test";
inline constexpr char kGraphAppId[] = "00000003-0000-0000-c000-000000000000";
inline constexpr char kGraphResource[] = "https://graph.microsoft.com";

struct TenantConfig {
  std::string id;                    // Tenant GUID (lowercase after Normalize).
  std::vector<std::string> domains;  // Verified domains, e.g. "contoso.onmicrosoft.com".
  std::string region_scope = "NA";   // Discovery `tenant_region_scope`.
};

struct ResourceConfig {
  std::string app_id;             // The resource's application (client) id GUID.
  std::string display_name;       // e.g. "WindowsDefenderATP".
  std::vector<std::string> uris;  // App ID URI first, then alias URIs.
  int access_token_version = 1;   // 1 or 2: the resource decides the token format.
};

struct SecretConfig {
  std::string value;     // The client secret value.
  bool expired = false;  // An expired secret is recognised but rejected (AADSTS7000222).
};

// The audience Kubernetes tokens for Entra carry (azure-workload-identity's default).
inline constexpr char kTokenExchangeAudience[] = "api://AzureADTokenExchange";

// A federated identity credential of an app: tokens from `issuer` about `subject` for
// `audience` authenticate the app (workload identity federation).
struct FederatedCredentialConfig {
  std::string issuer;   // e.g. the cluster's OIDC issuer URL.
  std::string subject;  // e.g. "system:serviceaccount:apps:example".
  std::string audience = kTokenExchangeAudience;
};

// An external token issuer whose signing keys the dev IdP is given (Entra fetches them from the
// issuer's OIDC discovery; the dev IdP never goes out to the network).
struct FederatedIssuerConfig {
  std::string issuer;  // The tokens' `iss`.
  std::string jwks;    // Its JWKS document ({"keys":[...]}), serialised.
};

struct AppConfig {
  std::string client_id;  // Application (client) id GUID.
  std::string display_name;
  std::vector<SecretConfig> secrets;  // All currently known secrets (rotation overlap).
  // PEM certificates registered on the app: client assertions signed by their keys (found by
  // the assertion's x5t#S256 or x5t header) authenticate it.
  std::vector<std::string> certificates;
  std::vector<FederatedCredentialConfig> federated_credentials;
  // Tenants the app is present in (consented): tenant id -> resource app id -> granted roles.
  // After Normalize the keys are tenant GUIDs and resource app ids.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> tenants;
};

struct IdpConfig {
  int token_lifetime_seconds = 3599;       // expires_in; exp = iat + lifetime.
  absl::optional<int> refresh_in_seconds;  // Adds `refresh_in` to responses when set.
  std::vector<TenantConfig> tenants;
  std::vector<ResourceConfig> resources;
  std::vector<AppConfig> apps;
  std::vector<FederatedIssuerConfig> federated_issuers;

  // Returns the built-in directory described in README.md (already normalised).
  static IdpConfig Default();

  // Parses the JSON format described in README.md and normalises it.
  // Returns InvalidArgument naming the offending field on error.
  static absl::StatusOr<IdpConfig> FromJson(absl::string_view json_text);

  // Reads `path` and calls FromJson. Returns NotFound if the file cannot be read.
  static absl::StatusOr<IdpConfig> FromFile(const std::string& path);

  // Validates `config` and rewrites it canonically: GUIDs and domains lowercase, app tenant keys
  // given as domains become tenant GUIDs, resource keys given as URIs become app ids.
  // Idempotent. Returns InvalidArgument on duplicate or dangling ids.
  static absl::StatusOr<IdpConfig> Normalize(IdpConfig config);
};

// Returns the lookup key of a resource URI or app id: lowercase, without trailing '/'.
std::string ResourceLookupKey(absl::string_view uri_or_app_id);

// Returns true iff `name` is one of the multi-tenant path segments common, organizations,
// consumers (case-insensitive).
bool IsMultiTenantAlias(absl::string_view name);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_IDP_CONFIG_H_
