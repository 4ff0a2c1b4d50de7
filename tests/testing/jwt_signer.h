// Test keys and token signing: RSA and EC P-256 key pairs exported as JWKs, tokens signed with
// RS256, PS256 or ES256 (JOSE r||s form), and HS256 tokens for algorithm-confusion tests.
// For tests and benchmarks only: every function aborts with a message if OpenSSL fails.
#ifndef TOKEND_TESTS_TESTING_JWT_SIGNER_H_
#define TOKEND_TESTS_TESTING_JWT_SIGNER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "service/common/openssl_ptr.h"

namespace tokend {
namespace testing {

enum class SigningAlg { kRs256, kPs256, kEs256 };

// A private key with a kid. Move-only.
class TestKey {
 public:
  // A fresh RSA key of `bits` bits, or EC P-256 key. `alg`, when not empty, goes into the JWK.
  static TestKey Rsa(int bits, std::string kid, std::string alg = "");
  static TestKey Ec(std::string kid, std::string alg = "");

  const std::string& kid() const { return kid_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }

  // The public JWK: kty, kid, use "sig", n and e or crv, x and y, and alg when set.
  nlohmann::json Jwk() const;
  // The public key as PEM (SubjectPublicKeyInfo).
  std::string PublicKeyPem() const;

  // The signature of `input`: PKCS#1 v1.5 or PSS (salt 32) with SHA-256, or ES256 as r||s.
  std::string Signature(SigningAlg alg, absl::string_view input) const;
  // The compact token base64url(header_json) "." base64url(payload_json) "." signature.
  std::string Sign(SigningAlg alg, absl::string_view header_json,
                   absl::string_view payload_json) const;

 private:
  TestKey(EvpPkeyPtr pkey, std::string kid, std::string alg);

  EvpPkeyPtr pkey_;
  std::string kid_;
  std::string alg_;
};

// {"keys":[...]} of `keys`, serialised.
std::string JwksJson(const std::vector<nlohmann::json>& keys);

// base64url(header_json) "." base64url(payload_json) "." base64url(signature).
std::string AssembleToken(absl::string_view header_json, absl::string_view payload_json,
                          absl::string_view signature);

// A token signed with HMAC-SHA256 under `secret`, whatever alg `header_json` names.
std::string SignHs256(absl::string_view header_json, absl::string_view payload_json,
                      absl::string_view secret);

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_JWT_SIGNER_H_
