// JwtFailure: why a token is not valid, one value per reason (after jwt_verify_lib's enumerated
// Status). The values and their numbers match tokend.v1.ValidationFailure in
// proto/tokend/v1/tokend.proto one to one, so the server maps them with a static_cast.
#ifndef TOKEND_SERVICE_CORE_JWT_FAILURE_H_
#define TOKEND_SERVICE_CORE_JWT_FAILURE_H_

#include "absl/strings/string_view.h"

namespace tokend {

enum class JwtFailure {
  kNone = 0,                 // The token is valid.
  kMalformed = 1,            // Not a well-formed JWS (segments, base64url, JSON, claims, limits).
  kBadSignature = 2,         // The signature does not verify with the key named by `kid`.
  kUnknownKey = 3,           // No key of the issuer has the token's `kid` (or it has none).
  kDisallowedAlgorithm = 4,  // `alg` is not allowed, or does not match the key.
  kExpired = 5,              // `exp` is in the past, beyond the clock skew.
  kNotYetValid = 6,          // `nbf` is in the future, beyond the clock skew.
  kWrongIssuer = 7,          // `iss` is not the expected issuer.
  kWrongAudience = 8,        // No `aud` is one of the accepted audiences.
  kTenantNotAllowed = 9,     // `tid` is absent or not an allowed tenant.
  kMissingRoles = 10,        // `roles` lacks some required role.
  kKeysUnavailable = 11,     // The issuer's keys could not be fetched and none are cached.
};

// A stable lower-case snake_case name ("none", "malformed", "bad_signature", ...), used as a
// metric label and in logs. Never changes once released. Thread-safe.
absl::string_view JwtFailureName(JwtFailure failure);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_JWT_FAILURE_H_
