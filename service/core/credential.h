// A credential: one Entra ID application registration that tokend acts for, as loaded from one
// folder of --secrets-dir. Immutable once built; shared between threads as
// std::shared_ptr<const Credential>.
#ifndef TOKEND_SERVICE_CORE_CREDENTIAL_H_
#define TOKEND_SERVICE_CORE_CREDENTIAL_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"
#include "service/core/client_assertion.h"

namespace tokend {

enum class CredentialKind {
  kClientSecret,      // `client-secret`: a shared secret sent in the token request.
  kCertificate,       // `client-certificate`: PEM certificate and private key; signs an assertion.
  kWorkloadIdentity,  // AZURE_FEDERATED_TOKEN_FILE: a projected service-account token is the
                      // assertion (workload identity federation).
};

struct Credential {
  std::string name;       // Folder name under --secrets-dir.
  std::string tenant_id;  // Home tenant: a GUID or a domain name.
  std::string client_id;  // Application (client) id: a GUID.
  CredentialKind kind = CredentialKind::kClientSecret;
  SecretString client_secret;    // Set iff kind == kClientSecret.
  SecretString certificate_pem;  // Set iff kind == kCertificate: certificate and private key.
  // Set iff kind != kClientSecret: makes the client assertion sent instead of a secret. Shared
  // by the copies of one version of the credential; thread-safe.
  std::shared_ptr<ClientAssertionSource> assertion;
  std::optional<absl::Time> certificate_expires_at;  // kCertificate: the certificate's notAfter.
  std::string authority_host;  // Normalised (no trailing slash); empty: use --authority-host.
  std::string version;         // Identifies the loaded content (e.g. the ..data target).
  // Problems that do not stop the credential from working, e.g. a secret file other users may
  // read. Logged as warnings once, when this version is applied. Never any secret content.
  std::vector<std::string> warnings;
};

// The result of reading every credential once.
struct CredentialSnapshot {
  std::map<std::string, std::shared_ptr<const Credential>> credentials;  // By name; usable ones.
  std::map<std::string, absl::Status> failures;  // By name; why a credential is unusable.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CREDENTIAL_H_
