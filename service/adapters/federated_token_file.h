// FederatedTokenFile: the client assertion of workload identity federation (ENTRA.md sections 6
// and 7): the Kubernetes projected service-account token that the kubelet writes to
// AZURE_FEDERATED_TOKEN_FILE and replaces, through an atomic ..data swap, well before it
// expires. The file is read again for every token request (it is small, and token requests are
// rare), so a rotated token is used as soon as the kubelet has written it, whichever way the
// file changed. The token is checked to be a JWT that has not expired; its signature is for
// Entra to verify. Thread-safe.
#ifndef TOKEND_SERVICE_ADAPTERS_FEDERATED_TOKEN_FILE_H_
#define TOKEND_SERVICE_ADAPTERS_FEDERATED_TOKEN_FILE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"
#include "service/core/client_assertion.h"

namespace tokend {

class FederatedTokenFile final : public ClientAssertionSource {
 public:
  // `path` is the token file (AZURE_FEDERATED_TOKEN_FILE); `variable` names where the path came
  // from, for messages.
  explicit FederatedTokenFile(std::string path, std::string variable = "AZURE_FEDERATED_TOKEN_FILE")
      : path_(std::move(path)), variable_(std::move(variable)) {}

  // Reads the token now. FAILED_PRECONDITION naming the variable and the path when the file is
  // missing, unreadable, empty, larger than 64 KiB, not a JWT, or holds a token that expired at
  // or before `now`. `client_id` and `audience` are Entra's to check against the application's
  // federated identity credentials.
  absl::StatusOr<SecretString> Assertion(const std::string& client_id, const std::string& audience,
                                         absl::Time now) override;

  // "federated token file /var/run/secrets/azure/tokens/azure-identity-token".
  std::string Describe() const override;

  const std::string& path() const { return path_; }

 private:
  // Constant after construction.
  const std::string path_;
  const std::string variable_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_FEDERATED_TOKEN_FILE_H_
