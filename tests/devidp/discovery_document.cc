#include "tests/devidp/discovery_document.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tokend {
namespace devidp {

nlohmann::ordered_json DiscoveryDocument(KeysVersion version, const std::string& base_url,
                                         const TenantConfig* tenant, const std::string& alias) {
  const bool v2 = version == KeysVersion::kV2;
  const std::string segment = tenant != nullptr ? tenant->id : absl::AsciiStrToLower(alias);
  const std::string tid = tenant != nullptr ? tenant->id : "{tenantid}";
  const std::string root = absl::StrCat(base_url, "/", segment);
  const std::string oauth2 =
      v2 ? absl::StrCat(root, "/oauth2/v2.0") : absl::StrCat(root, "/oauth2");

  nlohmann::ordered_json doc;
  doc["token_endpoint"] = absl::StrCat(oauth2, "/token");
  doc["token_endpoint_auth_methods_supported"] = {"client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"};
  doc["jwks_uri"] =
      v2 ? absl::StrCat(root, "/discovery/v2.0/keys") : absl::StrCat(root, "/discovery/keys");
  doc["response_modes_supported"] = {"query", "fragment", "form_post"};
  doc["subject_types_supported"] = {"pairwise"};
  doc["id_token_signing_alg_values_supported"] = {"RS256"};
  doc["response_types_supported"] = {"code", "id_token", "code id_token", "id_token token"};
  doc["scopes_supported"] =
      v2 ? nlohmann::ordered_json{"openid", "profile", "email", "offline_access"}
         : nlohmann::ordered_json{"openid"};
  doc["issuer"] = v2 ? absl::StrCat("https://login.microsoftonline.com/", tid, "/v2.0")
                     : absl::StrCat("https://sts.windows.net/", tid, "/");
  doc["request_uri_parameter_supported"] = false;
  doc["authorization_endpoint"] = absl::StrCat(oauth2, "/authorize");
  doc["device_authorization_endpoint"] = absl::StrCat(oauth2, "/devicecode");
  doc["http_logout_supported"] = true;
  doc["frontchannel_logout_supported"] = true;
  doc["end_session_endpoint"] = absl::StrCat(oauth2, "/logout");
  doc["claims_supported"] = {"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles"};
  doc["tenant_region_scope"] =
      tenant != nullptr ? nlohmann::ordered_json(tenant->region_scope) : nlohmann::ordered_json();
  doc["cloud_instance_name"] = "microsoftonline.com";
  doc["cloud_graph_host_name"] = "graph.windows.net";
  doc["msgraph_host"] = "graph.microsoft.com";
  doc["rbac_url"] = "https://pas.windows.net";
  return doc;
}

}  // namespace devidp
}  // namespace tokend
