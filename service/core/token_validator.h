// TokenValidator: the whole ValidateToken check of an Entra ID access token. It parses the
// token (strict limits), chooses the keys by the token's unverified `tid` and `ver` (fetched
// only for allowed tenants), verifies the signature, then checks lifetime (with clock skew),
// issuer (the discovery document's, {tenantid} substituted, and a v2 key's own `issuer`),
// audience, tenant and required roles. A token whose signature was verified is remembered by
// its SHA-256 digest until it expires (bounded), so a repeated token costs a hash and a lookup;
// the time and claim checks still run on every call.
//
// Thread-safe. Validate() never blocks on the network: with the keys in memory it answers on
// the caller's thread; otherwise from the JwksCache's thread when the keys arrive.
#ifndef TOKEND_SERVICE_CORE_TOKEN_VALIDATOR_H_
#define TOKEND_SERVICE_CORE_TOKEN_VALIDATOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/clock.h"
#include "service/core/jwks_cache.h"
#include "service/core/jwt.h"
#include "service/core/jwt_failure.h"
#include "service/core/jwt_verifier.h"

namespace tokend {

struct TokenValidatorOptions {
  std::vector<std::string> audiences;  // --audiences: accepted when a call names none.
  std::function<bool(const std::string&)> tenant_allowed;  // Tokens of other tenants fail.
  absl::Duration clock_skew = absl::Minutes(5);
  size_t max_verified = 10000;  // Verified tokens remembered.
};

struct ValidationRequest {
  std::string token;                        // With or without "Bearer ".
  std::vector<std::string> required_roles;  // All must be in `roles`.
  std::vector<std::string> audiences;       // Non-empty: replaces the configured audiences.
};

struct ValidationResult {
  JwtFailure failure = JwtFailure::kNone;  // kNone iff valid.
  std::string detail;                      // Why; never quotes the token.
  std::shared_ptr<const Jwt> jwt;          // The decoded token, when it could be parsed.
  std::vector<std::string> missing_roles;
  bool valid() const { return failure == JwtFailure::kNone; }
};

using ValidationCallback = std::function<void(absl::StatusOr<ValidationResult>)>;

class TokenValidator {
 public:
  // `keys` and `clock` must outlive this object. INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<TokenValidator>> Create(JwksCache& keys, Clock& clock,
                                                                TokenValidatorOptions options);

  // Calls `done` exactly once: INVALID_ARGUMENT for an empty token (a request error); otherwise
  // a ValidationResult, valid or with the first failure.
  void Validate(const ValidationRequest& request, ValidationCallback done);

  size_t verified_size() const;

 private:
  TokenValidator(JwksCache& keys, Clock& clock, TokenValidatorOptions options,
                 JwtVerifier verifier);
  // Time and claim checks of a token whose signature is verified, against `issuer`.
  ValidationResult Finish(std::shared_ptr<const Jwt> jwt, const std::string& issuer,
                          const ValidationRequest& request) const;
  void Remember(const std::string& digest, std::shared_ptr<const Jwt> jwt,
                const std::string& issuer);

  struct Verified {
    std::shared_ptr<const Jwt> jwt;
    std::string issuer;  // The issuer its keys were published for.
  };

  // Constant after construction.
  JwksCache& keys_;
  Clock& clock_;
  const TokenValidatorOptions options_;
  const JwtVerifier verifier_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Verified> verified_ ABSL_GUARDED_BY(mu_);  // By digest.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_TOKEN_VALIDATOR_H_
