// ClientAssertionSource: what a credential without a client secret presents to the token
// endpoint instead, as the request's client_assertion (RFC 7523; ENTRA.md section 6): a JWT it
// signs with its certificate (CertificateAssertion), or a token another issuer signed for it (a
// Kubernetes projected service-account token, for workload identity federation:
// adapters/federated_token_file.h). It is an interface so that the core can present a token
// read from a file without doing file I/O itself, and so that tests can script assertions.
// Implementations are thread-safe.
#ifndef TOKEND_SERVICE_CORE_CLIENT_ASSERTION_H_
#define TOKEND_SERVICE_CORE_CLIENT_ASSERTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"

namespace tokend {

class ClientAssertionSource {
 public:
  virtual ~ClientAssertionSource() = default;

  // Returns the assertion for a token request that the application `client_id` makes at
  // `now` to the token endpoint `audience` (its global URL, e.g.
  // https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token, even when the request goes to
  // a regional host). FAILED_PRECONDITION when none can be had (a certificate out of its
  // validity, a token file missing, malformed or expired): the message names the file or the
  // certificate's thumbprint and never quotes an assertion.
  virtual absl::StatusOr<SecretString> Assertion(const std::string& client_id,
                                                 const std::string& audience, absl::Time now) = 0;

  // What the assertion is made from, for error messages and logs: the certificate's x5t#S256
  // thumbprint and expiry, or the token file's path. Never secret.
  virtual std::string Describe() const = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CLIENT_ASSERTION_H_
