// The dev IdP's live directory: resolves tenants and resources, authenticates apps and reports
// granted roles. Tenants and resources are fixed at construction; apps (secrets, certificates,
// federated credentials, roles, tenant presence) and trusted federated issuers change at run
// time through the admin API. Thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_DIRECTORY_H_
#define TOKEND_TESTS_DEVIDP_DIRECTORY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/verification_keys.h"

namespace tokend {
namespace devidp {

// Outcome of checking a client secret.
enum class SecretCheck {
  kValid,       // Matches a current secret.
  kExpired,     // Matches a secret marked expired (AADSTS7000222).
  kWrong,       // Matches no secret of the app (AADSTS7000215).
  kUnknownApp,  // No such client id.
};

class Directory {
 public:
  // REQUIRES: `config` was produced by IdpConfig::Normalize (or Default/FromJson).
  explicit Directory(const IdpConfig& config);

  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // Returns the tenant whose GUID or domain is `id_or_domain` (case-insensitive), or nullptr.
  // The pointer stays valid for the life of this object.
  const TenantConfig* FindTenant(absl::string_view id_or_domain) const;

  // Returns the resource with the URI or app id `uri_or_app_id` (case-insensitive, trailing '/'
  // ignored), or nullptr. The pointer stays valid for the life of this object.
  const ResourceConfig* FindResource(absl::string_view uri_or_app_id) const;

  // Returns true iff the app `client_id` exists and is present in tenant `tenant_id` (GUID).
  bool AppInTenant(absl::string_view client_id, absl::string_view tenant_id) const;

  // Compares `secret` with the app's secrets in constant time per secret.
  SecretCheck CheckSecret(absl::string_view client_id, absl::string_view secret) const;

  // Returns the certificates registered on the app; empty if none (or the app is unknown).
  std::vector<std::shared_ptr<const RegisteredCertificate>> Certificates(
      absl::string_view client_id) const;

  // Registers the first certificate of `pem` on the app (a rotation overlap) and returns its
  // x5t#S256 thumbprint. NotFound for an unknown app, InvalidArgument for a bad certificate.
  absl::StatusOr<std::string> AddCertificate(absl::string_view client_id, absl::string_view pem);

  // Removes the certificate whose x5t#S256 thumbprint is `x5t_s256`. NotFound if the app or the
  // certificate is unknown.
  absl::Status RemoveCertificate(absl::string_view client_id, absl::string_view x5t_s256);

  // Returns the app's federated identity credentials; empty if none (or the app is unknown).
  std::vector<FederatedCredentialConfig> FederatedCredentials(absl::string_view client_id) const;

  // Adds a federated identity credential to the app. NotFound for an unknown app,
  // InvalidArgument when issuer, subject or audience is empty.
  absl::Status AddFederatedCredential(absl::string_view client_id,
                                      const FederatedCredentialConfig& credential);

  // Returns the signing keys of the trusted federated issuer `issuer`, or null if it is not
  // trusted.
  std::shared_ptr<const IssuerKeys> FederatedIssuerKeys(absl::string_view issuer) const;

  // Trusts tokens of `issuer.issuer` signed by the keys of `issuer.jwks`, replacing the keys it
  // had (a key rollover). InvalidArgument for an empty issuer or a JWKS without RSA keys.
  absl::Status SetFederatedIssuer(const FederatedIssuerConfig& issuer);

  // Returns the roles granted to the app in `tenant_id` on resource `resource_app_id`; empty if
  // none (or the app is unknown).
  std::vector<std::string> GrantedRoles(absl::string_view client_id, absl::string_view tenant_id,
                                        absl::string_view resource_app_id) const;

  // Adds a secret to the app (a rotation overlap). Returns NotFound for an unknown app,
  // InvalidArgument for an empty secret; adding a known secret updates its expired flag.
  absl::Status AddSecret(absl::string_view client_id, const SecretConfig& secret);

  // Removes a secret. Returns NotFound if the app or the secret is unknown.
  absl::Status RemoveSecret(absl::string_view client_id, absl::string_view secret);

  // Sets the roles granted to the app in `tenant` (GUID or domain) on `resource` (URI or app id)
  // and makes the app present in that tenant. Returns NotFound for unknown app/tenant/resource.
  absl::Status SetRoles(absl::string_view client_id, absl::string_view tenant,
                        absl::string_view resource, std::vector<std::string> roles);

  // Makes the app present in `tenant` (as after admin consent) or, if !present, removes it.
  // Returns NotFound for an unknown app or tenant.
  absl::Status SetPresentInTenant(absl::string_view client_id, absl::string_view tenant,
                                  bool present);

 private:
  // Constant after construction.
  std::vector<TenantConfig> tenants_;
  std::vector<ResourceConfig> resources_;
  std::map<std::string, size_t> tenant_index_;    // lowercase id or domain -> tenants_ index
  std::map<std::string, size_t> resource_index_;  // ResourceLookupKey -> resources_ index

  mutable absl::Mutex mu_;
  std::map<std::string, AppConfig> apps_ ABSL_GUARDED_BY(mu_);  // by lowercase client id
  // Parsed AppConfig::certificates, by lowercase client id.
  std::map<std::string, std::vector<std::shared_ptr<const RegisteredCertificate>>> certificates_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<const IssuerKeys>> issuers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_DIRECTORY_H_
