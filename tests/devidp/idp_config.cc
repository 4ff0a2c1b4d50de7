#include "tests/devidp/idp_config.h"

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/guid.h"
#include "tests/devidp/verification_keys.h"

namespace tokend {
namespace devidp {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("devidp config: ", where, ": ", what));
}

// Rejects keys of `object` outside `allowed`; keys starting with '_' are comments.
absl::Status CheckKeys(const json& object, absl::string_view where,
                       const std::set<std::string>& allowed) {
  if (!object.is_object()) return Invalid(where, "must be an object");
  for (const auto& item : object.items()) {
    if (absl::StartsWith(item.key(), "_") || allowed.count(item.key()) > 0) continue;
    return Invalid(where, absl::StrCat("unknown field \"", item.key(), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const json& object, const char* key, absl::string_view where,
                                      bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) return Invalid(where, absl::StrCat("missing \"", key, "\""));
    return std::string();
  }
  if (!it->is_string()) return Invalid(where, absl::StrCat("\"", key, "\" must be a string"));
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> GetStringList(const json& value, absl::string_view where) {
  if (!value.is_array()) return Invalid(where, "must be an array of strings");
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) return Invalid(where, "must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<TenantConfig> ParseTenant(const json& value, const std::string& where) {
  if (absl::Status s = CheckKeys(value, where, {"id", "domains", "region_scope"}); !s.ok())
    return s;
  TenantConfig tenant;
  absl::StatusOr<std::string> id = GetString(value, "id", where, true);
  if (!id.ok()) return id.status();
  tenant.id = *id;
  if (value.contains("domains")) {
    absl::StatusOr<std::vector<std::string>> domains = GetStringList(value["domains"], where);
    if (!domains.ok()) return domains.status();
    tenant.domains = *std::move(domains);
  }
  if (value.contains("region_scope")) {
    absl::StatusOr<std::string> region = GetString(value, "region_scope", where, true);
    if (!region.ok()) return region.status();
    tenant.region_scope = *region;
  }
  return tenant;
}

absl::StatusOr<ResourceConfig> ParseResource(const json& value, const std::string& where) {
  if (absl::Status s =
          CheckKeys(value, where, {"app_id", "display_name", "uris", "access_token_version"});
      !s.ok()) {
    return s;
  }
  ResourceConfig resource;
  absl::StatusOr<std::string> app_id = GetString(value, "app_id", where, true);
  if (!app_id.ok()) return app_id.status();
  absl::StatusOr<std::string> name = GetString(value, "display_name", where, false);
  if (!name.ok()) return name.status();
  resource.app_id = *app_id;
  resource.display_name = *name;
  if (value.contains("uris")) {
    absl::StatusOr<std::vector<std::string>> uris = GetStringList(value["uris"], where);
    if (!uris.ok()) return uris.status();
    resource.uris = *std::move(uris);
  }
  if (value.contains("access_token_version")) {
    if (!value["access_token_version"].is_number_integer()) {
      return Invalid(where, "\"access_token_version\" must be 1 or 2");
    }
    resource.access_token_version = value["access_token_version"].get<int>();
  }
  return resource;
}

absl::StatusOr<FederatedCredentialConfig> ParseFederatedCredential(const json& value,
                                                                   const std::string& where) {
  if (absl::Status s = CheckKeys(value, where, {"issuer", "subject", "audience"}); !s.ok()) {
    return s;
  }
  FederatedCredentialConfig credential;
  for (auto [key, field, required] : {std::make_tuple("issuer", &credential.issuer, true),
                                      std::make_tuple("subject", &credential.subject, true),
                                      std::make_tuple("audience", &credential.audience, false)}) {
    absl::StatusOr<std::string> text = GetString(value, key, where, required);
    if (!text.ok()) return text.status();
    if (!text->empty()) *field = *std::move(text);
  }
  return credential;
}

absl::StatusOr<FederatedIssuerConfig> ParseFederatedIssuer(const json& value,
                                                           const std::string& where) {
  if (absl::Status s = CheckKeys(value, where, {"issuer", "jwks"}); !s.ok()) return s;
  FederatedIssuerConfig issuer;
  absl::StatusOr<std::string> name = GetString(value, "issuer", where, true);
  if (!name.ok()) return name.status();
  issuer.issuer = *name;
  if (!value.contains("jwks") || !value["jwks"].is_object()) {
    return Invalid(where, "\"jwks\" must be a JWKS object");
  }
  issuer.jwks = value["jwks"].dump();
  return issuer;
}

absl::StatusOr<AppConfig> ParseApp(const json& value, const std::string& where) {
  if (absl::Status s = CheckKeys(value, where,
                                 {"client_id", "display_name", "secrets", "tenants", "certificates",
                                  "federated_credentials"});
      !s.ok()) {
    return s;
  }
  AppConfig app;
  absl::StatusOr<std::string> client_id = GetString(value, "client_id", where, true);
  if (!client_id.ok()) return client_id.status();
  absl::StatusOr<std::string> name = GetString(value, "display_name", where, false);
  if (!name.ok()) return name.status();
  app.client_id = *client_id;
  app.display_name = *name;
  if (value.contains("secrets")) {
    if (!value["secrets"].is_array()) return Invalid(where, "\"secrets\" must be an array");
    for (const json& secret : value["secrets"]) {
      if (secret.is_string()) {
        app.secrets.push_back({secret.get<std::string>(), false});
        continue;
      }
      const std::string secret_where = absl::StrCat(where, ".secrets[]");
      if (absl::Status s = CheckKeys(secret, secret_where, {"value", "expired"}); !s.ok()) return s;
      absl::StatusOr<std::string> secret_value = GetString(secret, "value", secret_where, true);
      if (!secret_value.ok()) return secret_value.status();
      const json expired = secret.value("expired", json(false));
      if (!expired.is_boolean()) return Invalid(secret_where, "\"expired\" must be a boolean");
      app.secrets.push_back({*secret_value, expired.get<bool>()});
    }
  }
  if (value.contains("certificates")) {
    absl::StatusOr<std::vector<std::string>> certificates =
        GetStringList(value["certificates"], absl::StrCat(where, ".certificates"));
    if (!certificates.ok()) return certificates.status();
    app.certificates = *std::move(certificates);
  }
  if (value.contains("federated_credentials")) {
    if (!value["federated_credentials"].is_array()) {
      return Invalid(where, "\"federated_credentials\" must be an array");
    }
    for (const json& item : value["federated_credentials"]) {
      absl::StatusOr<FederatedCredentialConfig> credential =
          ParseFederatedCredential(item, absl::StrCat(where, ".federated_credentials[]"));
      if (!credential.ok()) return credential.status();
      app.federated_credentials.push_back(*std::move(credential));
    }
  }
  if (value.contains("tenants")) {
    const json& tenants = value["tenants"];
    if (!tenants.is_object()) return Invalid(where, "\"tenants\" must be an object");
    for (const auto& tenant : tenants.items()) {
      const std::string tenant_where = absl::StrCat(where, ".tenants[\"", tenant.key(), "\"]");
      if (absl::Status s = CheckKeys(tenant.value(), tenant_where, {"roles"}); !s.ok()) return s;
      auto& grants = app.tenants[tenant.key()];
      const json roles = tenant.value().value("roles", json::object());
      if (!roles.is_object()) return Invalid(tenant_where, "\"roles\" must be an object");
      for (const auto& resource : roles.items()) {
        absl::StatusOr<std::vector<std::string>> list =
            GetStringList(resource.value(), absl::StrCat(tenant_where, ".roles"));
        if (!list.ok()) return list.status();
        grants[resource.key()] = *std::move(list);
      }
    }
  }
  return app;
}

}  // namespace

std::string ResourceLookupKey(absl::string_view uri_or_app_id) {
  std::string key = absl::AsciiStrToLower(uri_or_app_id);
  while (!key.empty() && key.back() == '/') key.pop_back();
  return key;
}

bool IsMultiTenantAlias(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "common") || absl::EqualsIgnoreCase(name, "organizations") ||
         absl::EqualsIgnoreCase(name, "consumers");
}

IdpConfig IdpConfig::Default() {
  IdpConfig config;
  config.tenants = {
      {kDefaultTenantId, {kDefaultTenantDomain, "contoso.com"}, "NA"},
      {kOtherTenantId, {kOtherTenantDomain}, "EU"},
  };
  config.resources = {
      {kDefenderAppId,
       "WindowsDefenderATP",
       {kDefenderResource, "https://api.securitycenter.windows.com",
        "https://securitycenter.onmicrosoft.com/windowsatpservice"},
       1},
      {kTestApiAppId, "tokend-test-api", {kTestApiResource}, 2},
      {kGraphAppId, "Microsoft Graph", {kGraphResource}, 1},
  };
  AppConfig app;
  app.client_id = kDefaultClientId;
  app.display_name = "tokend-dev";
  app.secrets = {{kDefaultClientSecret, false}, {kDefaultExpiredClientSecret, true}};
  app.tenants[kDefaultTenantId][kDefenderAppId] = {"AdvancedQuery.Read.All", "Ti.ReadWrite",
                                                   "Event.Write"};
  app.tenants[kDefaultTenantId][kTestApiAppId] = {"Test.Read"};
  config.apps = {std::move(app)};
  return config;
}

absl::StatusOr<IdpConfig> IdpConfig::FromJson(absl::string_view json_text) {
  const json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (root.is_discarded()) return Invalid("file", "not valid JSON");
  if (absl::Status s = CheckKeys(root, "top level",
                                 {"token_lifetime_seconds", "refresh_in_seconds", "tenants",
                                  "resources", "apps", "federated_issuers"});
      !s.ok()) {
    return s;
  }
  IdpConfig config;
  if (root.contains("token_lifetime_seconds")) {
    if (!root["token_lifetime_seconds"].is_number_integer()) {
      return Invalid("token_lifetime_seconds", "must be an integer");
    }
    config.token_lifetime_seconds = root["token_lifetime_seconds"].get<int>();
  }
  if (root.contains("refresh_in_seconds") && !root["refresh_in_seconds"].is_null()) {
    if (!root["refresh_in_seconds"].is_number_integer()) {
      return Invalid("refresh_in_seconds", "must be an integer");
    }
    config.refresh_in_seconds = root["refresh_in_seconds"].get<int>();
  }
  for (const char* section : {"tenants", "resources", "apps", "federated_issuers"}) {
    if (root.contains(section) && !root[section].is_array()) {
      return Invalid(section, "must be an array");
    }
  }
  const json empty = json::array();
  int index = 0;
  for (const json& value : root.value("tenants", empty)) {
    absl::StatusOr<TenantConfig> tenant =
        ParseTenant(value, absl::StrCat("tenants[", index++, "]"));
    if (!tenant.ok()) return tenant.status();
    config.tenants.push_back(*std::move(tenant));
  }
  index = 0;
  for (const json& value : root.value("resources", empty)) {
    absl::StatusOr<ResourceConfig> resource =
        ParseResource(value, absl::StrCat("resources[", index++, "]"));
    if (!resource.ok()) return resource.status();
    config.resources.push_back(*std::move(resource));
  }
  index = 0;
  for (const json& value : root.value("apps", empty)) {
    absl::StatusOr<AppConfig> app = ParseApp(value, absl::StrCat("apps[", index++, "]"));
    if (!app.ok()) return app.status();
    config.apps.push_back(*std::move(app));
  }
  index = 0;
  for (const json& value : root.value("federated_issuers", empty)) {
    absl::StatusOr<FederatedIssuerConfig> issuer =
        ParseFederatedIssuer(value, absl::StrCat("federated_issuers[", index++, "]"));
    if (!issuer.ok()) return issuer.status();
    config.federated_issuers.push_back(*std::move(issuer));
  }
  return Normalize(std::move(config));
}

absl::StatusOr<IdpConfig> IdpConfig::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("devidp config: cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str());
}

absl::StatusOr<IdpConfig> IdpConfig::Normalize(IdpConfig config) {
  if (config.token_lifetime_seconds <= 0) {
    return Invalid("token_lifetime_seconds", "must be positive");
  }
  if (config.refresh_in_seconds.has_value() && *config.refresh_in_seconds <= 0) {
    return Invalid("refresh_in_seconds", "must be positive when set");
  }
  std::map<std::string, std::string> tenant_ids;  // id or domain -> id
  for (TenantConfig& tenant : config.tenants) {
    tenant.id = absl::AsciiStrToLower(tenant.id);
    if (!IsGuid(tenant.id))
      return Invalid("tenants", absl::StrCat("id is not a GUID: ", tenant.id));
    if (!tenant_ids.emplace(tenant.id, tenant.id).second) {
      return Invalid("tenants", absl::StrCat("duplicate tenant ", tenant.id));
    }
    for (std::string& domain : tenant.domains) {
      domain = absl::AsciiStrToLower(domain);
      if (domain.empty() || IsMultiTenantAlias(domain) || absl::StrContains(domain, "/") ||
          !tenant_ids.emplace(domain, tenant.id).second) {
        return Invalid("tenants", absl::StrCat("bad or duplicate domain ", domain));
      }
    }
  }
  std::map<std::string, std::string> resource_ids;  // lookup key -> app id
  for (ResourceConfig& resource : config.resources) {
    resource.app_id = absl::AsciiStrToLower(resource.app_id);
    if (!IsGuid(resource.app_id)) {
      return Invalid("resources", absl::StrCat("app_id is not a GUID: ", resource.app_id));
    }
    if (resource.uris.empty()) {
      return Invalid("resources", absl::StrCat("no uris for ", resource.app_id));
    }
    if (resource.access_token_version != 1 && resource.access_token_version != 2) {
      return Invalid("resources", "access_token_version must be 1 or 2");
    }
    if (!resource_ids.emplace(resource.app_id, resource.app_id).second) {
      return Invalid("resources", absl::StrCat("duplicate app_id ", resource.app_id));
    }
    for (const std::string& uri : resource.uris) {
      if (!resource_ids.emplace(ResourceLookupKey(uri), resource.app_id).second) {
        return Invalid("resources", absl::StrCat("duplicate uri ", uri));
      }
    }
  }
  std::set<std::string> client_ids;
  for (AppConfig& app : config.apps) {
    app.client_id = absl::AsciiStrToLower(app.client_id);
    if (!IsGuid(app.client_id) || !client_ids.insert(app.client_id).second) {
      return Invalid("apps", absl::StrCat("bad or duplicate client_id ", app.client_id));
    }
    for (const SecretConfig& secret : app.secrets) {
      if (secret.value.empty()) return Invalid("apps", "empty secret");
    }
    for (const std::string& pem : app.certificates) {
      absl::StatusOr<std::shared_ptr<const RegisteredCertificate>> certificate =
          RegisteredCertificate::FromPem(pem);
      if (!certificate.ok()) {
        return Invalid("apps", absl::StrCat("certificate of ", app.client_id, ": ",
                                            certificate.status().message()));
      }
    }
    for (const FederatedCredentialConfig& credential : app.federated_credentials) {
      if (credential.issuer.empty() || credential.subject.empty() || credential.audience.empty()) {
        return Invalid("apps", absl::StrCat("federated credential of ", app.client_id,
                                            " needs issuer, subject and audience"));
      }
    }
    std::map<std::string, std::map<std::string, std::vector<std::string>>> tenants;
    for (auto& [tenant_key, grants] : app.tenants) {
      auto tenant = tenant_ids.find(absl::AsciiStrToLower(tenant_key));
      if (tenant == tenant_ids.end()) {
        return Invalid("apps", absl::StrCat("unknown tenant ", tenant_key));
      }
      auto& normalized = tenants[tenant->second];
      for (auto& [resource_key, roles] : grants) {
        auto resource = resource_ids.find(ResourceLookupKey(resource_key));
        if (resource == resource_ids.end()) {
          return Invalid("apps", absl::StrCat("unknown resource ", resource_key));
        }
        normalized[resource->second] = std::move(roles);
      }
    }
    app.tenants = std::move(tenants);
  }
  std::set<std::string> issuers;
  for (const FederatedIssuerConfig& issuer : config.federated_issuers) {
    if (issuer.issuer.empty() || !issuers.insert(issuer.issuer).second) {
      return Invalid("federated_issuers", absl::StrCat("bad or duplicate issuer ", issuer.issuer));
    }
    absl::StatusOr<std::shared_ptr<const IssuerKeys>> keys =
        IssuerKeys::FromJwks(json::parse(issuer.jwks, nullptr, false));
    if (!keys.ok()) {
      return Invalid("federated_issuers",
                     absl::StrCat(issuer.issuer, ": ", keys.status().message()));
    }
  }
  return config;
}

}  // namespace devidp
}  // namespace tokend
