// Parsing of JWS compact tokens (RFC 7515/7519) into a Jwt: strict, bounded, and without
// verifying anything. Verification lives in jwt_verifier.h. Pure functions; thread-safe.
//
// Every error ParseJwt returns is INVALID_ARGUMENT and means JwtFailure::kMalformed. Error
// messages name the part at fault and the limit, never the token or any claim value.
#ifndef TOKEND_SERVICE_CORE_JWT_H_
#define TOKEND_SERVICE_CORE_JWT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tokend {

// Bounds on the JSON that ParseStrictJsonObject accepts.
struct JsonLimits {
  int max_depth = 8;               // A container nested deeper than this is rejected.
  size_t max_members = 100;        // Members of the top-level object.
  size_t max_string_bytes = 4096;  // Every string and key, at any depth.
};

// Parses `text` as a JSON object with `limits`, rejecting duplicate keys in any object
// (nlohmann would silently keep the last). Bounded memory and no recursion on hostile input.
// INVALID_ARGUMENT naming `what` ("header", "jwks", ...) otherwise. Shared with jwks.cc.
absl::StatusOr<nlohmann::json> ParseStrictJsonObject(absl::string_view text,
                                                     const JsonLimits& limits,
                                                     absl::string_view what);

struct JwtLimits {
  size_t max_token_bytes = 16 * 1024;
  size_t max_header_bytes = 2 * 1024;    // Decoded.
  size_t max_payload_bytes = 12 * 1024;  // Decoded.
  int max_json_depth = 8;
  size_t max_claims = 100;
  size_t max_string_bytes = 4 * 1024;  // Every string in the header and payload.
  size_t max_roles = 200;
};

// A parsed, unverified token: the header fields and claims tokend uses, nothing else. String
// claims are empty when absent.
struct Jwt {
  // Header.
  std::string alg;  // Always present and not empty.
  std::string kid;
  std::string typ;
  std::string x5t;

  std::string signing_input;  // "header.payload" as it appeared in the token.
  std::string signature;      // The decoded signature bytes; may be empty (alg "none").

  // Claims.
  std::string iss;
  std::vector<std::string> aud;  // A string `aud` becomes one element.
  std::string tid;
  std::string appid;  // v1 tokens.
  std::string azp;    // v2 tokens.
  std::string oid;
  std::string ver;
  std::vector<std::string> roles;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  int64_t exp = 0;  // Required, so always set.
};

// Parses a compact JWS: exactly three base64url segments (no padding), a header object with a
// string `alg` and no `crit`, a payload object with an integer `exp`, all within `limits`.
// Claims with the wrong type (`iss` not a string, `roles` not an array of strings, `nbf` not an
// integer, ...) are errors. A token over the size limit is rejected before any decoding.
absl::StatusOr<Jwt> ParseJwt(absl::string_view token, const JwtLimits& limits = JwtLimits());

// Returns `value` without one leading "Bearer " (scheme case-insensitive, exactly one space);
// `value` itself otherwise.
absl::string_view StripBearer(absl::string_view value);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_JWT_H_
