// Parsing of JSON Web Key Sets (RFC 7517) into OpenSSL public keys, and of OpenID discovery
// documents. Pure functions; thread-safe. A JwkSet is immutable once built and may be shared
// between threads (EVP_PKEY verification does not modify the key).
#ifndef TOKEND_SERVICE_CORE_JWKS_H_
#define TOKEND_SERVICE_CORE_JWKS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/common/openssl_ptr.h"

namespace tokend {

struct JwksLimits {
  size_t max_bytes = 256 * 1024;  // The whole document.
  size_t max_keys = 100;          // Entries of "keys", usable or not.
  int min_rsa_bits = 2048;
  int max_rsa_bits = 8192;  // Bounds the cost of one verification.
};

// One usable signing key.
struct Jwk {
  std::string kid;     // Never empty.
  std::string kty;     // "RSA" or "EC" (P-256).
  std::string alg;     // The key's `alg`, or empty when it has none.
  std::string use;     // "sig", or empty when absent.
  std::string issuer;  // v2 keys' `issuer` (may hold "{tenantid}"); empty when absent.
  EvpPkeyPtr key;      // Never null.
};

// The usable keys of a JWKS document, and what was skipped.
struct JwkSet {
  std::vector<Jwk> keys;  // In document order; kids are unique.

  size_t skipped_malformed = 0;    // Bad members, weak RSA, EC point not on the curve, no kid.
  size_t skipped_unsupported = 0;  // Other kty or crv, or `use` other than "sig".
  size_t skipped_duplicates = 0;   // A kid already seen; the first key is kept.
  std::vector<std::string> notes;  // One line per skipped key, safe to log (index and kid).

  // Returns the key whose kid is `kid`, or nullptr.
  const Jwk* Find(absl::string_view kid) const;
};

// Parses a JWKS document: an object with a "keys" array. RSA keys come from `n`/`e` (at least
// `min_rsa_bits`, odd modulus, odd exponent >= 3 of at most 256 bits; leading zero octets are
// ignored), EC keys from `crv` "P-256" with 32-byte `x` and `y` on the curve. Keys that cannot
// be used are skipped and reported in the set, not errors; a set may end up empty, and callers
// keeping earlier keys should treat that as a failed refresh. INVALID_ARGUMENT if the document
// is too large, not JSON, has duplicate keys, or has no "keys" array of at most `max_keys`.
absl::StatusOr<JwkSet> ParseJwks(absl::string_view json, const JwksLimits& limits = JwksLimits());

// The parts of an OpenID Connect discovery document tokend uses.
struct DiscoveryDocument {
  std::string issuer;    // As published, e.g. "https://sts.windows.net/{tenantid}/".
  std::string jwks_uri;  // An absolute http(s) URL.
};

// Parses a discovery document of at most `max_bytes`. INVALID_ARGUMENT if it is not a strict
// JSON object with a non-empty string `issuer` and an http(s) `jwks_uri`.
absl::StatusOr<DiscoveryDocument> ParseDiscovery(absl::string_view json,
                                                 size_t max_bytes = 64 * 1024);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_JWKS_H_
