// FileSecretSource reads credentials from a folder laid out as Kubernetes mounts Secrets:
//
//   DIR/NAME/tenant-id       -> ..data/tenant-id
//   DIR/NAME/client-id       -> ..data/client-id
//   DIR/NAME/client-secret   -> ..data/client-secret   (or client-certificate)
//   DIR/NAME/authority-host  -> ..data/authority-host  (optional)
//   DIR/NAME/..data          -> ..2026_11_29_04_50_00.123456789
//
// Each subfolder NAME is one credential. Plain files (no ..data) work too. When ..data exists,
// all files of a credential are read from the one folder it points to, and ..data is checked to
// be unchanged afterwards, so a credential is never assembled from two versions of a Secret.
// A certificate credential may also have `assertion-algorithm`: PS256 (the default; x5t#S256
// header) or RS256 (x5t header, for older tenants and ADFS).
//
// Besides the folders, the azure-workload-identity variables (AZURE_FEDERATED_TOKEN_FILE, ...)
// make the credential "workload-identity" (workload_identity.h).
// Thread-compatible: Load() may be called from any one thread at a time.
#ifndef TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_
#define TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "service/common/flag_parser.h"
#include "service/core/credential.h"
#include "service/core/secret_source.h"

namespace tokend {

class FileSecretSource : public SecretSource {
 public:
  // `dir` is the --secrets-dir folder. `env` reads the workload identity variables; the
  // default reads the process environment.
  explicit FileSecretSource(std::string dir, EnvLookup env = ProcessEnvironment())
      : dir_(std::move(dir)), env_(std::move(env)) {}

  // Looks variables up with getenv().
  static EnvLookup ProcessEnvironment();

  // See SecretSource::Load(). NOT_FOUND / FAILED_PRECONDITION when `dir` is missing, not a
  // folder, or unreadable.
  absl::StatusOr<CredentialSnapshot> Load() override;

  // Reads the one credential in `folder` (named `name`). Exposed for tests.
  static absl::StatusOr<Credential> LoadCredential(const std::string& name,
                                                   const std::string& folder);

 private:
  // Adds the workload identity credential to `snapshot` when the variables are set (or its
  // failure, also when a folder of the same name exists).
  void AddWorkloadIdentity(CredentialSnapshot& snapshot) const;

  const std::string dir_;
  const EnvLookup env_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_
