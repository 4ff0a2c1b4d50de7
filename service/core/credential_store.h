// CredentialStore holds the credentials in use and answers lookups by name. Reloads keep the
// last good version of a credential whose new content is broken, so a bad Secret update never
// takes a working credential away. Thread-safe: lookups take a shared lock and return a
// shared_ptr that stays valid however the store changes afterwards.
#ifndef TOKEND_SERVICE_CORE_CREDENTIAL_STORE_H_
#define TOKEND_SERVICE_CORE_CREDENTIAL_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/credential.h"

namespace tokend {

// The health of one credential, for logs, metrics and readiness.
struct CredentialState {
  std::string name;
  bool usable = false;      // A version of it can be used (possibly an older one).
  std::string version;      // The version in use; empty if none.
  absl::Status last_error;  // Why the newest content was rejected; OK if it was accepted.
  // The notAfter of the certificate in use, for certificate credentials.
  std::optional<absl::Time> certificate_expires_at;
};

class CredentialStore {
 public:
  CredentialStore() = default;
  CredentialStore(const CredentialStore&) = delete;
  CredentialStore& operator=(const CredentialStore&) = delete;

  // Applies a freshly read snapshot: new and changed credentials replace the old ones; a
  // credential listed in `failures` keeps its previous good version if it had one; credentials
  // absent from both maps are removed. Returns the names whose version changed.
  std::vector<std::string> Apply(const CredentialSnapshot& snapshot);

  // Returns the credential named `name`. An empty name selects the only credential, or the one
  // named "default". NOT_FOUND for an unknown name (listing the known ones),
  // INVALID_ARGUMENT when the name is empty and the choice is ambiguous, FAILED_PRECONDITION
  // when the credential exists but has never loaded successfully.
  absl::StatusOr<std::shared_ptr<const Credential>> Find(const std::string& name) const;

  // The state of every credential known, good or broken, ordered by name.
  std::vector<CredentialState> States() const;

  // True iff at least one credential is usable.
  bool AnyUsable() const;

  // True iff a usable credential's home tenant is `tenant` (compared case-insensitively).
  bool HasTenant(const std::string& tenant) const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const Credential>> good_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> errors_ ABSL_GUARDED_BY(mu_);  // Latest rejection.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CREDENTIAL_STORE_H_
