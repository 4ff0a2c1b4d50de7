#include "service/core/token_validator.h"

#include <openssl/evp.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "service/common/openssl_ptr.h"
#include "service/core/identifiers.h"

namespace tokend {
namespace {

std::string Digest(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, tokend::Sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

ValidationResult Failed(JwtFailure failure, std::string detail,
                        std::shared_ptr<const Jwt> jwt = nullptr) {
  ValidationResult result;
  result.failure = failure;
  result.detail = std::move(detail);
  result.jwt = std::move(jwt);
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenValidator>> TokenValidator::Create(
    JwksCache& keys, Clock& clock, TokenValidatorOptions options) {
  JwtVerifierOptions verifier_options;
  verifier_options.clock_skew = options.clock_skew;
  absl::StatusOr<JwtVerifier> verifier = JwtVerifier::Create(verifier_options);
  if (!verifier.ok()) return verifier.status();
  if (!options.tenant_allowed) {
    return absl::InvalidArgumentError("tenant_allowed: must be set");
  }
  return std::unique_ptr<TokenValidator>(
      new TokenValidator(keys, clock, std::move(options), *std::move(verifier)));
}

TokenValidator::TokenValidator(JwksCache& keys, Clock& clock, TokenValidatorOptions options,
                               JwtVerifier verifier)
    : keys_(keys), clock_(clock), options_(std::move(options)), verifier_(std::move(verifier)) {}

void TokenValidator::Validate(const ValidationRequest& request, ValidationCallback done) {
  absl::string_view token = StripBearer(request.token);
  if (token.empty()) {
    done(absl::InvalidArgumentError("token: must not be empty"));
    return;
  }
  std::string digest = Digest(token);
  std::optional<Verified> known;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = verified_.find(digest);
    if (it != verified_.end()) known = it->second;
  }
  if (known.has_value()) {  // Signature verified before: only the time and claims remain.
    done(Finish(known->jwt, known->issuer, request));
    return;
  }

  absl::StatusOr<Jwt> parsed = ParseJwt(token);
  if (!parsed.ok()) {
    done(Failed(JwtFailure::kMalformed, std::string(parsed.status().message())));
    return;
  }
  auto jwt = std::make_shared<const Jwt>(*std::move(parsed));
  // The unverified tid and ver only choose the keys; nothing is fetched for other tenants.
  if (!IsGuid(jwt->tid)) {
    done(Failed(JwtFailure::kTenantNotAllowed, "the token has no tenant id (tid)", jwt));
    return;
  }
  if (!options_.tenant_allowed(jwt->tid)) {
    done(Failed(JwtFailure::kTenantNotAllowed, "the token's tenant is not allowed", jwt));
    return;
  }
  std::string version = jwt->ver.empty() ? "1.0" : jwt->ver;
  if (version != "1.0" && version != "2.0") {
    done(Failed(JwtFailure::kMalformed, "the token's ver is neither 1.0 nor 2.0", jwt));
    return;
  }
  keys_.GetKeys(
      jwt->tid, version, jwt->kid,
      [this, jwt, digest = std::move(digest), request,
       done = std::move(done)](absl::StatusOr<IssuerKeys> keys) {
        if (!keys.ok()) {
          done(Failed(JwtFailure::kKeysUnavailable,
                      absl::StrCat("the issuer's keys are unavailable: ", keys.status().message()),
                      jwt));
          return;
        }
        std::string detail;
        JwtFailure failure = verifier_.VerifySignature(*jwt, *keys->keys, &detail);
        if (failure != JwtFailure::kNone) {
          done(Failed(failure, std::move(detail), jwt));
          return;
        }
        // A v2 key may name the issuer it signs for (ENTRA.md: validate the signing key issuer).
        const Jwk* key = keys->keys->Find(jwt->kid);
        if (key != nullptr && !key->issuer.empty() &&
            absl::StrReplaceAll(key->issuer, {{"{tenantid}", jwt->tid}}) != jwt->iss) {
          done(Failed(JwtFailure::kWrongIssuer, "the signing key is not the token issuer's", jwt));
          return;
        }
        Remember(digest, jwt, keys->issuer);
        done(Finish(jwt, keys->issuer, request));
      });
}

ValidationResult TokenValidator::Finish(std::shared_ptr<const Jwt> jwt, const std::string& issuer,
                                        const ValidationRequest& request) const {
  ValidationResult result;
  result.jwt = jwt;
  result.failure = verifier_.CheckTime(*jwt, clock_.TimeNow(), &result.detail);
  ClaimExpectations expected;
  expected.issuer = issuer;
  expected.audiences = request.audiences.empty() ? options_.audiences : request.audiences;
  expected.tenant_allowed = options_.tenant_allowed;
  expected.required_roles = request.required_roles;
  std::string claims_detail;
  JwtFailure claims = CheckClaims(*jwt, expected, &result.missing_roles, &claims_detail);
  if (result.failure == JwtFailure::kNone) {
    result.failure = claims;
    result.detail = std::move(claims_detail);
  }
  return result;
}

void TokenValidator::Remember(const std::string& digest, std::shared_ptr<const Jwt> jwt,
                              const std::string& issuer) {
  absl::Time now = clock_.TimeNow();
  if (absl::FromUnixSeconds(jwt->exp) + options_.clock_skew <= now) return;  // Already expired.
  absl::MutexLock lock(&mu_);
  if (verified_.size() >= options_.max_verified) {
    // Drop the expired ones; if none, forget everything (the next calls verify again).
    absl::erase_if(verified_, [&](const auto& entry) {
      return absl::FromUnixSeconds(entry.second.jwt->exp) + options_.clock_skew <= now;
    });
    if (verified_.size() >= options_.max_verified) verified_.clear();
  }
  verified_.emplace(digest, Verified{std::move(jwt), issuer});
}

size_t TokenValidator::verified_size() const {
  absl::ReaderMutexLock lock(&mu_);
  return verified_.size();
}

}  // namespace tokend
