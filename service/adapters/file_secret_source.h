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
// Thread-compatible: Load() may be called from any one thread at a time.
#ifndef TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_
#define TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "service/core/credential.h"
#include "service/core/secret_source.h"

namespace tokend {

class FileSecretSource : public SecretSource {
 public:
  // `dir` is the --secrets-dir folder.
  explicit FileSecretSource(std::string dir) : dir_(std::move(dir)) {}

  // See SecretSource::Load(). NOT_FOUND / FAILED_PRECONDITION when `dir` is missing, not a
  // folder, or unreadable.
  absl::StatusOr<CredentialSnapshot> Load() override;

  // Reads the one credential in `folder` (named `name`). Exposed for tests.
  static absl::StatusOr<Credential> LoadCredential(const std::string& name,
                                                   const std::string& folder);

 private:
  const std::string dir_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_FILE_SECRET_SOURCE_H_
