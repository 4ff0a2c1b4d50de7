// Test certificates for certificate credentials: one fixed certificate whose thumbprints were
// computed independently with the openssl command line, and fresh ones made on demand. For
// tests only: every function aborts with a message if OpenSSL fails.
#ifndef TOKEND_TESTS_TESTING_TEST_CERTIFICATES_H_
#define TOKEND_TESTS_TESTING_TEST_CERTIFICATES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/testing/jwt_signer.h"

namespace tokend {
namespace testing {

// A certificate and its private key, PEM encoded.
struct TestCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
  // The content of a client-certificate file: the certificate, then the key.
  std::string Pem() const { return certificate_pem + private_key_pem; }
};

// CN=tokend-test-fixed, RSA 2048, self-signed, valid from 2026-01-01T00:00:00Z to
// 2036-01-01T00:00:00Z. Its thumbprints, from the openssl command line:
//   openssl x509 -in cert.pem -outform DER | openssl dgst -sha1 -binary | basenc --base64url
//   openssl x509 -in cert.pem -outform DER | openssl dgst -sha256 -binary | basenc --base64url
//   openssl x509 -in cert.pem -noout -fingerprint -sha1
const TestCertificate& FixedCertificate();
inline constexpr char kFixedCertificateX5t[] = "01XMicONgHhxr62vnUrOtiFM73U";
inline constexpr char kFixedCertificateX5tS256[] = "pIhpRq4YQbnEl1-D_RaQsrFADzrYmSQEnzwXDkE6RQ4";
inline constexpr char kFixedCertificateThumbprint[] = "D355CC89C38D807871AFADAF9D4ACEB6214CEF75";

// A fresh self-signed certificate for an RSA key of `bits` bits, valid from `not_before` to
// `not_after`.
TestCertificate MakeCertificate(absl::Time not_before, absl::Time not_after, int bits = 2048,
                                absl::string_view common_name = "tokend-test");
// The same, valid from a year ago to a year from now (real time).
TestCertificate MakeCertificate();
// A fresh self-signed certificate for an EC P-256 key (which Entra ID does not accept).
TestCertificate MakeEcCertificate();

// A certificate authority for TLS tests: an EC P-256 CA certificate (CA:TRUE), valid from a day
// ago to a year from now (real time).
TestCertificate MakeCaCertificate(absl::string_view common_name = "tokend-test-ca");

// A certificate for an EC P-256 key, signed by `ca`, for TLS servers and clients (extended key
// usage serverAuth and clientAuth), valid from a day ago to a year from now. `subject_alt_names`
// in OpenSSL's configuration syntax, e.g. "DNS:localhost,IP:127.0.0.1" or
// "URI:spiffe://cluster.local/ns/a/sa/b,DNS:b.example"; empty: none. `serial` is its serial
// number.
TestCertificate MakeSignedCertificate(const TestCertificate& ca, absl::string_view common_name,
                                      absl::string_view subject_alt_names, long serial);

// base64url(header_json) "." base64url(payload_json) "." the RS256 or PS256 signature made with
// the certificate's private key.
std::string SignWithCertificate(const TestCertificate& certificate, SigningAlg alg,
                                absl::string_view header_json, absl::string_view payload_json);

// The certificate's thumbprints: base64url SHA-1 (x5t) and SHA-256 (x5t#S256) of its DER.
std::string X5t(const TestCertificate& certificate);
std::string X5tS256(const TestCertificate& certificate);

// The header and payload of a compact JWT such as a client assertion, decoded without any
// check; discarded JSON values when the token is malformed.
struct JwtParts {
  nlohmann::json header;
  nlohmann::json payload;
};
JwtParts DecodeJwt(absl::string_view jwt);

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_TEST_CERTIFICATES_H_
