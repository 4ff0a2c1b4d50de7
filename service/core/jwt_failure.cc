#include "service/core/jwt_failure.h"

namespace tokend {

absl::string_view JwtFailureName(JwtFailure failure) {
  switch (failure) {
    case JwtFailure::kNone:
      return "none";
    case JwtFailure::kMalformed:
      return "malformed";
    case JwtFailure::kBadSignature:
      return "bad_signature";
    case JwtFailure::kUnknownKey:
      return "unknown_key";
    case JwtFailure::kDisallowedAlgorithm:
      return "disallowed_algorithm";
    case JwtFailure::kExpired:
      return "expired";
    case JwtFailure::kNotYetValid:
      return "not_yet_valid";
    case JwtFailure::kWrongIssuer:
      return "wrong_issuer";
    case JwtFailure::kWrongAudience:
      return "wrong_audience";
    case JwtFailure::kTenantNotAllowed:
      return "tenant_not_allowed";
    case JwtFailure::kMissingRoles:
      return "missing_roles";
    case JwtFailure::kKeysUnavailable:
      return "keys_unavailable";
  }
  return "unknown";
}

}  // namespace tokend
