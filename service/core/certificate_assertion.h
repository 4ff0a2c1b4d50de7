// CertificateAssertion: the client assertion of a certificate credential (ENTRA.md section 6):
// a JWT signed with the certificate's private key, with
//
//   header   {"alg":"PS256","typ":"JWT","x5t#S256":<base64url SHA-256 of the certificate DER>}
//            or, for older tenants and ADFS, {"alg":"RS256","typ":"JWT","x5t":<... SHA-1 ...>}
//   payload  {"aud":<token endpoint>,"exp":nbf+10min,"iat":now,"iss":<client id>,
//             "jti":<random GUID>,"nbf":now,"sub":<client id>}
//
// An assertion is reused for the same client id and token endpoint until less than
// `renew_before` of its lifetime remains (MSAL Python reuses its assertions likewise), so a burst
// of token requests signs once. Immutable but for that cache; thread-safe.
#ifndef TOKEND_SERVICE_CORE_CERTIFICATE_ASSERTION_H_
#define TOKEND_SERVICE_CORE_CERTIFICATE_ASSERTION_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/openssl_ptr.h"
#include "service/common/secret_string.h"
#include "service/core/client_assertion.h"

namespace tokend {

enum class AssertionAlgorithm {
  kPs256,  // RSASSA-PSS with SHA-256 and an x5t#S256 header: what Entra documents today.
  kRs256,  // RSASSA-PKCS1-v1_5 with SHA-256 and an x5t (SHA-1) header: the legacy form.
};

// Parses "PS256" or "RS256" (JOSE names, case-sensitive). nullopt otherwise.
std::optional<AssertionAlgorithm> ParseAssertionAlgorithm(absl::string_view name);
const char* AssertionAlgorithmName(AssertionAlgorithm algorithm);  // "PS256", "RS256".

struct CertificateAssertionOptions {
  AssertionAlgorithm algorithm = AssertionAlgorithm::kPs256;
  absl::Duration lifetime = absl::Minutes(10);     // exp - nbf; Entra wants 10 minutes at most.
  absl::Duration renew_before = absl::Minutes(2);  // Sign anew once less than this is left.
  std::function<std::string()> new_jti;            // A fresh jti; default: a random GUID.
};

class CertificateAssertion final : public ClientAssertionSource {
 public:
  // Reads the first certificate and the unencrypted private key of `pem` (in either order).
  // INVALID_ARGUMENT, saying what is wrong and never quoting the PEM, when it is empty, has no
  // certificate or key, the key does not match the certificate, or is not RSA of 2048 bits or
  // more (what Entra accepts), or the options are out of range.
  static absl::StatusOr<std::unique_ptr<CertificateAssertion>> Create(
      const SecretString& pem, CertificateAssertionOptions options = {});

  CertificateAssertion(const CertificateAssertion&) = delete;
  CertificateAssertion& operator=(const CertificateAssertion&) = delete;

  // See ClientAssertionSource. FAILED_PRECONDITION when `now` is outside the certificate's
  // validity (Entra would refuse it): the message gives the thumbprint and the dates.
  absl::StatusOr<SecretString> Assertion(const std::string& client_id, const std::string& audience,
                                         absl::Time now) override;

  // "certificate with thumbprint D355...EF75 (x5t#S256 pIhp...RQ4, expires
  // 2036-01-01T00:00:00Z)": the SHA-1 thumbprint as the Azure portal lists an application's
  // certificates, and the SHA-256 one as sent.
  std::string Describe() const override;

  const std::string& thumbprint() const { return thumbprint_; }  // SHA-1 of the DER, hex.
  const std::string& x5t() const { return x5t_; }                // base64url SHA-1 of the DER.
  const std::string& x5t_s256() const { return x5t_s256_; }      // base64url SHA-256 of the DER.
  absl::Time not_before() const { return not_before_; }
  absl::Time not_after() const { return not_after_; }
  AssertionAlgorithm algorithm() const { return options_.algorithm; }

 private:
  struct Signed {
    SecretString jwt;
    absl::Time issued_at;
    absl::Time expires_at;
  };

  CertificateAssertion(EvpPkeyPtr key, std::string thumbprint, std::string x5t,
                       std::string x5t_s256, absl::Time not_before, absl::Time not_after,
                       CertificateAssertionOptions options);

  // Signs a new assertion. INTERNAL if OpenSSL fails.
  absl::StatusOr<Signed> Sign(const std::string& client_id, const std::string& audience,
                              absl::Time now) const;

  // Constant after construction.
  const EvpPkeyPtr key_;  // The private key; OpenSSL signs with a shared key safely.
  const std::string thumbprint_;
  const std::string x5t_;
  const std::string x5t_s256_;
  const absl::Time not_before_;
  const absl::Time not_after_;
  const CertificateAssertionOptions options_;

  absl::Mutex mu_;
  // The latest assertion by (client id, audience).
  std::map<std::pair<std::string, std::string>, Signed> signed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CERTIFICATE_ASSERTION_H_
