// SecretSource: where credentials come from. It is an interface so that the core can be tested
// without files, and so that other sources (environment, workload identity) can be added.
#ifndef TOKEND_SERVICE_CORE_SECRET_SOURCE_H_
#define TOKEND_SERVICE_CORE_SECRET_SOURCE_H_

#include "absl/status/statusor.h"
#include "service/core/credential.h"

namespace tokend {

class SecretSource {
 public:
  virtual ~SecretSource() = default;

  // Reads every credential now. Broken credentials are listed in `failures` with a message that
  // names the credential, the file and the problem, never a secret. Returns an error only when
  // nothing can be read at all (e.g. the folder does not exist). Thread-compatible.
  virtual absl::StatusOr<CredentialSnapshot> Load() = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_SECRET_SOURCE_H_
