// An RSA signing key with a self-signed certificate, shaped like the keys Entra ID publishes
// in its JWKS (kid == x5t == base64url SHA-1 thumbprint of the certificate).
// Immutable after Generate(); all methods are const and safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_RSA_SIGNING_KEY_H_
#define TOKEND_TESTS_DEVIDP_RSA_SIGNING_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/devidp/openssl_ptr.h"

namespace tokend {
namespace devidp {

class RsaSigningKey {
 public:
  // Generates a fresh key of `bits` bits (e = 65537) and a self-signed certificate for it.
  // Returns Internal if OpenSSL fails.
  static absl::StatusOr<std::unique_ptr<RsaSigningKey>> Generate(int bits = 2048);

  RsaSigningKey(const RsaSigningKey&) = delete;
  RsaSigningKey& operator=(const RsaSigningKey&) = delete;

  const std::string& kid() const { return kid_; }  // Key id; equals x5t, as in Entra.
  const std::string& x5t() const { return x5t_; }  // base64url SHA-1 of the certificate DER.
  const std::string& n() const { return n_; }      // base64url big-endian modulus.
  const std::string& e() const { return e_; }      // base64url big-endian public exponent.
  const std::string& certificate_der_base64() const { return cert_b64_; }  // x5c entry.

  // Returns the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of `input`, raw bytes.
  absl::StatusOr<std::string> SignRs256(absl::string_view input) const;

 private:
  explicit RsaSigningKey(EvpPkeyPtr pkey) : pkey_(std::move(pkey)) {}

  EvpPkeyPtr pkey_;
  std::string kid_;
  std::string x5t_;
  std::string n_;
  std::string e_;
  std::string cert_b64_;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_RSA_SIGNING_KEY_H_
