// Verification of parsed tokens (jwt.h) against keys (jwks.h), split the way jwt_verify_lib
// splits it: VerifySignature once per distinct token, CheckTime on every use (a cached, already
// verified token only re-runs the time checks), and CheckClaims for issuer, audience, tenant
// and roles. No I/O and no clock: the caller passes `now`.
//
// Order of checks, and so which failure wins when several apply (the first one reported):
//   ParseJwt (kMalformed)
//   VerifySignature: algorithm allowed (kDisallowedAlgorithm), then key by kid (kUnknownKey),
//                    then key type and key alg (kDisallowedAlgorithm), then the signature
//                    (kBadSignature)
//   CheckTime:       exp (kExpired), then nbf (kNotYetValid)
//   CheckClaims:     iss (kWrongIssuer), aud (kWrongAudience), tid (kTenantNotAllowed),
//                    roles (kMissingRoles)
// Nothing read from an unverified token should be trusted for more than choosing its keys.
#ifndef TOKEND_SERVICE_CORE_JWT_VERIFIER_H_
#define TOKEND_SERVICE_CORE_JWT_VERIFIER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/jwks.h"
#include "service/core/jwt.h"
#include "service/core/jwt_failure.h"

namespace tokend {

struct JwtVerifierOptions {
  // JWS algorithm names. Only "RS256", "PS256" and "ES256" can be allowed.
  std::vector<std::string> allowed_algorithms = {"RS256"};
  // Leeway for exp and nbf, from zero to ten minutes.
  absl::Duration clock_skew = absl::Minutes(5);
};

// Verifies signatures and time claims. Immutable after Create(), so thread-safe; cheap to copy.
class JwtVerifier {
 public:
  // INVALID_ARGUMENT if no algorithm is allowed, if one is unknown, "none" or an HMAC (HS*),
  // or if clock_skew is negative or above ten minutes.
  static absl::StatusOr<JwtVerifier> Create(const JwtVerifierOptions& options);

  // Checks the signature of `jwt` with the key of `keys` named by its kid. Returns kNone on
  // success; otherwise the failure, with a reason in *detail (when not null) that names at most
  // the alg and kid. A token without kid is kUnknownKey even if `keys` holds a single key:
  // Entra always sets kid, and key choice should not depend on what else is published.
  JwtFailure VerifySignature(const Jwt& jwt, const JwkSet& keys, std::string* detail) const;

  // Checks exp and nbf against `now` with the clock skew: expired iff now >= exp + skew (so exp
  // equal to now is expired when the skew is zero), not yet valid iff now < nbf - skew. iat is
  // not checked. Returns kNone, kExpired or kNotYetValid (with *detail set when not null).
  JwtFailure CheckTime(const Jwt& jwt, absl::Time now, std::string* detail) const;

  absl::Duration clock_skew() const { return clock_skew_; }

 private:
  JwtVerifier(unsigned allowed, absl::Duration clock_skew)
      : allowed_(allowed), clock_skew_(clock_skew) {}

  // Constant after construction.
  unsigned allowed_;           // Bit set of allowed algorithms (see jwt_verifier.cc).
  absl::Duration clock_skew_;  // In [0, 10 min].
};

// What the claims of a token must satisfy.
struct ClaimExpectations {
  std::string issuer;                  // Exact match; the caller substitutes {tenantid}.
  std::vector<std::string> audiences;  // `aud` must hold at least one (exact compare).
  // Returns true iff the tenant may use the service. An unset function allows no tenant.
  std::function<bool(const std::string& tenant_id)> tenant_allowed;
  std::vector<std::string> required_roles;  // Each must be in `roles` (exact compare).
};

// Checks iss, aud, tid and roles, in that order. Returns kNone, or the first failure with a
// reason in *detail (when not null). A token without iss or tid fails the respective check.
// *missing_roles (when not null) is set to the required roles the token lacks, in the order of
// `expected.required_roles` without repeats, whatever the result. Pure; thread-safe.
JwtFailure CheckClaims(const Jwt& jwt, const ClaimExpectations& expected,
                       std::vector<std::string>* missing_roles, std::string* detail);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_JWT_VERIFIER_H_
