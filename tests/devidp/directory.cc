#include "tests/devidp/directory.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace devidp {
namespace {

bool SecretEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Directory::Directory(const IdpConfig& config)
    : tenants_(config.tenants), resources_(config.resources) {
  for (size_t i = 0; i < tenants_.size(); ++i) {
    tenant_index_[tenants_[i].id] = i;
    for (const std::string& domain : tenants_[i].domains) tenant_index_[domain] = i;
  }
  for (size_t i = 0; i < resources_.size(); ++i) {
    resource_index_[ResourceLookupKey(resources_[i].app_id)] = i;
    for (const std::string& uri : resources_[i].uris) resource_index_[ResourceLookupKey(uri)] = i;
  }
  absl::MutexLock lock(&mu_);
  for (const AppConfig& app : config.apps) {
    apps_[app.client_id] = app;
    for (const std::string& pem : app.certificates) {
      // Normalize has checked every certificate.
      absl::StatusOr<std::shared_ptr<const RegisteredCertificate>> certificate =
          RegisteredCertificate::FromPem(pem);
      if (certificate.ok()) certificates_[app.client_id].push_back(*std::move(certificate));
    }
  }
  for (const FederatedIssuerConfig& issuer : config.federated_issuers) {
    absl::StatusOr<std::shared_ptr<const IssuerKeys>> keys =
        IssuerKeys::FromJwks(nlohmann::json::parse(issuer.jwks, nullptr, false));
    if (keys.ok()) issuers_[issuer.issuer] = *std::move(keys);
  }
}

std::vector<std::shared_ptr<const RegisteredCertificate>> Directory::Certificates(
    absl::string_view client_id) const {
  absl::MutexLock lock(&mu_);
  auto it = certificates_.find(absl::AsciiStrToLower(client_id));
  return it == certificates_.end() ? std::vector<std::shared_ptr<const RegisteredCertificate>>()
                                   : it->second;
}

absl::StatusOr<std::string> Directory::AddCertificate(absl::string_view client_id,
                                                      absl::string_view pem) {
  absl::StatusOr<std::shared_ptr<const RegisteredCertificate>> certificate =
      RegisteredCertificate::FromPem(pem);
  if (!certificate.ok()) return certificate.status();
  const std::string id = absl::AsciiStrToLower(client_id);
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(id);
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  std::vector<std::shared_ptr<const RegisteredCertificate>>& known = certificates_[id];
  for (const auto& existing : known) {
    if (existing->x5t_s256() == (*certificate)->x5t_s256()) return existing->x5t_s256();
  }
  app->second.certificates.push_back((*certificate)->pem());
  known.push_back(*certificate);
  return (*certificate)->x5t_s256();
}

absl::Status Directory::RemoveCertificate(absl::string_view client_id, absl::string_view x5t_s256) {
  const std::string id = absl::AsciiStrToLower(client_id);
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(id);
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  std::vector<std::shared_ptr<const RegisteredCertificate>>& known = certificates_[id];
  auto it = std::find_if(known.begin(), known.end(), [&](const auto& certificate) {
    return certificate->x5t_s256() == x5t_s256;
  });
  if (it == known.end()) return absl::NotFoundError("no such certificate");
  std::vector<std::string>& pems = app->second.certificates;
  pems.erase(std::remove(pems.begin(), pems.end(), (*it)->pem()), pems.end());
  known.erase(it);
  return absl::OkStatus();
}

std::vector<FederatedCredentialConfig> Directory::FederatedCredentials(
    absl::string_view client_id) const {
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  return app == apps_.end() ? std::vector<FederatedCredentialConfig>()
                            : app->second.federated_credentials;
}

absl::Status Directory::AddFederatedCredential(absl::string_view client_id,
                                               const FederatedCredentialConfig& credential) {
  if (credential.issuer.empty() || credential.subject.empty() || credential.audience.empty()) {
    return absl::InvalidArgumentError("issuer, subject and audience must not be empty");
  }
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  app->second.federated_credentials.push_back(credential);
  return absl::OkStatus();
}

std::shared_ptr<const IssuerKeys> Directory::FederatedIssuerKeys(absl::string_view issuer) const {
  absl::MutexLock lock(&mu_);
  auto it = issuers_.find(std::string(issuer));
  return it == issuers_.end() ? nullptr : it->second;
}

absl::Status Directory::SetFederatedIssuer(const FederatedIssuerConfig& issuer) {
  if (issuer.issuer.empty()) return absl::InvalidArgumentError("issuer must not be empty");
  absl::StatusOr<std::shared_ptr<const IssuerKeys>> keys =
      IssuerKeys::FromJwks(nlohmann::json::parse(issuer.jwks, nullptr, false));
  if (!keys.ok()) return keys.status();
  absl::MutexLock lock(&mu_);
  issuers_[issuer.issuer] = *std::move(keys);
  return absl::OkStatus();
}

const TenantConfig* Directory::FindTenant(absl::string_view id_or_domain) const {
  auto it = tenant_index_.find(absl::AsciiStrToLower(id_or_domain));
  return it == tenant_index_.end() ? nullptr : &tenants_[it->second];
}

const ResourceConfig* Directory::FindResource(absl::string_view uri_or_app_id) const {
  auto it = resource_index_.find(ResourceLookupKey(uri_or_app_id));
  return it == resource_index_.end() ? nullptr : &resources_[it->second];
}

bool Directory::AppInTenant(absl::string_view client_id, absl::string_view tenant_id) const {
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  return app != apps_.end() && app->second.tenants.count(std::string(tenant_id)) > 0;
}

SecretCheck Directory::CheckSecret(absl::string_view client_id, absl::string_view secret) const {
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return SecretCheck::kUnknownApp;
  for (const SecretConfig& known : app->second.secrets) {
    if (SecretEquals(known.value, secret)) {
      return known.expired ? SecretCheck::kExpired : SecretCheck::kValid;
    }
  }
  return SecretCheck::kWrong;
}

std::vector<std::string> Directory::GrantedRoles(absl::string_view client_id,
                                                 absl::string_view tenant_id,
                                                 absl::string_view resource_app_id) const {
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return {};
  auto tenant = app->second.tenants.find(std::string(tenant_id));
  if (tenant == app->second.tenants.end()) return {};
  auto roles = tenant->second.find(std::string(resource_app_id));
  if (roles == tenant->second.end()) return {};
  return roles->second;
}

absl::Status Directory::AddSecret(absl::string_view client_id, const SecretConfig& secret) {
  if (secret.value.empty()) return absl::InvalidArgumentError("secret must not be empty");
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  for (SecretConfig& known : app->second.secrets) {
    if (SecretEquals(known.value, secret.value)) {
      known.expired = secret.expired;
      return absl::OkStatus();
    }
  }
  app->second.secrets.push_back(secret);
  return absl::OkStatus();
}

absl::Status Directory::RemoveSecret(absl::string_view client_id, absl::string_view secret) {
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  std::vector<SecretConfig>& secrets = app->second.secrets;
  auto it = std::find_if(secrets.begin(), secrets.end(), [&](const SecretConfig& known) {
    return SecretEquals(known.value, secret);
  });
  if (it == secrets.end()) return absl::NotFoundError("no such secret");  // Never echo it.
  secrets.erase(it);
  return absl::OkStatus();
}

absl::Status Directory::SetRoles(absl::string_view client_id, absl::string_view tenant,
                                 absl::string_view resource, std::vector<std::string> roles) {
  const TenantConfig* found_tenant = FindTenant(tenant);
  if (found_tenant == nullptr) return absl::NotFoundError(absl::StrCat("unknown tenant ", tenant));
  const ResourceConfig* found_resource = FindResource(resource);
  if (found_resource == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown resource ", resource));
  }
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  app->second.tenants[found_tenant->id][found_resource->app_id] = std::move(roles);
  return absl::OkStatus();
}

absl::Status Directory::SetPresentInTenant(absl::string_view client_id, absl::string_view tenant,
                                           bool present) {
  const TenantConfig* found_tenant = FindTenant(tenant);
  if (found_tenant == nullptr) return absl::NotFoundError(absl::StrCat("unknown tenant ", tenant));
  absl::MutexLock lock(&mu_);
  auto app = apps_.find(absl::AsciiStrToLower(client_id));
  if (app == apps_.end()) return absl::NotFoundError(absl::StrCat("unknown app ", client_id));
  if (present) {
    app->second.tenants[found_tenant->id];  // Present, with no roles unless already granted.
  } else {
    app->second.tenants.erase(found_tenant->id);
  }
  return absl::OkStatus();
}

}  // namespace devidp
}  // namespace tokend
