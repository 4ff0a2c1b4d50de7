// The public keys the dev IdP checks client assertions with: certificates registered on an app
// (as an app registration's "Certificates & secrets"), and the signing keys of a trusted
// federated token issuer (as Entra fetches them from the issuer's jwks_uri; here they are
// given). Immutable once built; safe to share between threads.
#ifndef TOKEND_TESTS_DEVIDP_VERIFICATION_KEYS_H_
#define TOKEND_TESTS_DEVIDP_VERIFICATION_KEYS_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/openssl_ptr.h"

namespace tokend {
namespace devidp {

// JWS signature algorithms of client assertions the dev IdP verifies.
enum class AssertionAlg { kRs256, kPs256 };

// Returns true iff `signature` is an `alg` signature (PS256: salt of 32 bytes, as RFC 7518
// requires) of `input` under the RSA public key `key`.
bool VerifyRsaSignature(EVP_PKEY* key, AssertionAlg alg, absl::string_view input,
                        absl::string_view signature);

class RegisteredCertificate {
 public:
  // Parses the first PEM certificate of `pem`. InvalidArgument if there is none or its key is
  // not RSA.
  static absl::StatusOr<std::shared_ptr<const RegisteredCertificate>> FromPem(
      absl::string_view pem);

  const std::string& pem() const { return pem_; }            // The certificate alone.
  const std::string& x5t() const { return x5t_; }            // base64url SHA-1 of the DER.
  const std::string& x5t_s256() const { return x5t_s256_; }  // base64url SHA-256 of the DER.
  absl::Time not_after() const { return not_after_; }
  EVP_PKEY* public_key() const { return key_.get(); }

 private:
  RegisteredCertificate() = default;

  std::string pem_;
  std::string x5t_;
  std::string x5t_s256_;
  absl::Time not_after_;
  EvpPkeyPtr key_;
};

// The RSA signing keys of a federated token issuer, by kid.
class IssuerKeys {
 public:
  // Reads the RSA keys (kty "RSA", kid, n, e) of a JWKS object; other keys are ignored.
  // InvalidArgument if `jwks` has no "keys" array or no usable key.
  static absl::StatusOr<std::shared_ptr<const IssuerKeys>> FromJwks(const nlohmann::json& jwks);

  // The key named `kid`, or nullptr.
  EVP_PKEY* Find(const std::string& kid) const;

 private:
  IssuerKeys() = default;

  std::map<std::string, EvpPkeyPtr> keys_;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_VERIFICATION_KEYS_H_
