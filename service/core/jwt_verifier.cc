#include "service/core/jwt_verifier.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/openssl_ptr.h"

namespace tokend {
namespace {

// Bits of JwtVerifier::allowed_.
constexpr unsigned kRs256 = 1u << 0;
constexpr unsigned kPs256 = 1u << 1;
constexpr unsigned kEs256 = 1u << 2;

constexpr absl::Duration kMaxClockSkew = absl::Minutes(10);
constexpr size_t kEs256CoordinateBytes = 32;
constexpr int kPs256SaltBytes = 32;  // RFC 7518 3.5: the salt is as long as the hash output.

// The bit of a supported algorithm, 0 for any other name ("none" and HS* included).
unsigned AlgorithmBit(absl::string_view name) {
  if (name == "RS256") return kRs256;
  if (name == "PS256") return kPs256;
  if (name == "ES256") return kEs256;
  return 0;
}

// `value` (an alg or kid from the token) quoted, escaped and cut short, for details.
std::string Quote(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, 64)), "\"");
}

JwtFailure Fail(JwtFailure failure, std::string message, std::string* detail) {
  if (detail != nullptr) *detail = std::move(message);
  return failure;
}

// Converts a JOSE ES256 signature (r || s, 32 bytes each) to DER; empty on any error.
std::string Es256ToDer(absl::string_view jose) {
  if (jose.size() != 2 * kEs256CoordinateBytes) return "";
  const auto* bytes = reinterpret_cast<const unsigned char*>(jose.data());
  BignumPtr r(BN_bin2bn(bytes, kEs256CoordinateBytes, nullptr));
  BignumPtr s(BN_bin2bn(bytes + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return "";
  }
  r.release();  // Now owned by sig.
  s.release();
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return "";
  std::string der(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return "";
  return der;
}

// Returns true iff `signature` is a valid `algorithm` signature of `input` under `key`.
bool VerifyWith(unsigned algorithm, EVP_PKEY* key, absl::string_view input,
                absl::string_view signature) {
  std::string der;
  if (algorithm == kEs256) {
    der = Es256ToDer(signature);
    if (der.empty()) return false;
    signature = der;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, Sha256(), nullptr, key) != 1) {
    return false;
  }
  if (algorithm == kRs256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  if (algorithm == kPs256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Sha256()) != 1 ||
                              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPs256SaltBytes) != 1)) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

}  // namespace

absl::StatusOr<JwtVerifier> JwtVerifier::Create(const JwtVerifierOptions& options) {
  if (options.allowed_algorithms.empty()) {
    return absl::InvalidArgumentError("no signature algorithm is allowed");
  }
  unsigned allowed = 0;
  for (const std::string& name : options.allowed_algorithms) {
    const unsigned bit = AlgorithmBit(name);
    if (bit == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("algorithm ", Quote(name), " cannot be allowed (only RS256, PS256, ES256)"));
    }
    allowed |= bit;
  }
  if (options.clock_skew < absl::ZeroDuration() || options.clock_skew > kMaxClockSkew) {
    return absl::InvalidArgumentError("clock skew must be from 0 to 10 minutes");
  }
  return JwtVerifier(allowed, options.clock_skew);
}

JwtFailure JwtVerifier::VerifySignature(const Jwt& jwt, const JwkSet& keys,
                                        std::string* detail) const {
  const unsigned algorithm = AlgorithmBit(jwt.alg);
  if ((allowed_ & algorithm) == 0) {
    return Fail(JwtFailure::kDisallowedAlgorithm,
                absl::StrCat("algorithm ", Quote(jwt.alg), " is not allowed"), detail);
  }
  if (jwt.kid.empty()) return Fail(JwtFailure::kUnknownKey, "token has no kid", detail);
  const Jwk* jwk = keys.Find(jwt.kid);
  if (jwk == nullptr) {
    return Fail(JwtFailure::kUnknownKey, absl::StrCat("no key has kid ", Quote(jwt.kid)), detail);
  }
  const char* kty = algorithm == kEs256 ? "EC" : "RSA";
  if (jwk->kty != kty || EVP_PKEY_is_a(jwk->key.get(), kty) != 1) {
    return Fail(
        JwtFailure::kDisallowedAlgorithm,
        absl::StrCat("key ", Quote(jwt.kid), " is ", jwk->kty, ", not usable with ", jwt.alg),
        detail);
  }
  if (!jwk->alg.empty() && jwk->alg != jwt.alg) {
    return Fail(
        JwtFailure::kDisallowedAlgorithm,
        absl::StrCat("key ", Quote(jwt.kid), " is for ", Quote(jwk->alg), ", not ", jwt.alg),
        detail);
  }
  if (!VerifyWith(algorithm, jwk->key.get(), jwt.signing_input, jwt.signature)) {
    ERR_clear_error();  // Leave no OpenSSL errors behind for unrelated code to find.
    return Fail(JwtFailure::kBadSignature,
                absl::StrCat("signature does not verify with key ", Quote(jwt.kid)), detail);
  }
  return JwtFailure::kNone;
}

JwtFailure JwtVerifier::CheckTime(const Jwt& jwt, absl::Time now, std::string* detail) const {
  // absl::Time arithmetic saturates, so extreme claims cannot overflow.
  if (now >= absl::FromUnixSeconds(jwt.exp) + clock_skew_) {
    return Fail(JwtFailure::kExpired, "token has expired", detail);
  }
  if (jwt.nbf.has_value() && now < absl::FromUnixSeconds(*jwt.nbf) - clock_skew_) {
    return Fail(JwtFailure::kNotYetValid, "token is not valid yet", detail);
  }
  return JwtFailure::kNone;
}

JwtFailure CheckClaims(const Jwt& jwt, const ClaimExpectations& expected,
                       std::vector<std::string>* missing_roles, std::string* detail) {
  std::vector<std::string> missing;
  for (const std::string& role : expected.required_roles) {
    if (std::find(jwt.roles.begin(), jwt.roles.end(), role) == jwt.roles.end() &&
        std::find(missing.begin(), missing.end(), role) == missing.end()) {
      missing.push_back(role);
    }
  }
  const size_t missing_count = missing.size();
  if (missing_roles != nullptr) *missing_roles = std::move(missing);

  if (jwt.iss.empty() || jwt.iss != expected.issuer) {
    return Fail(JwtFailure::kWrongIssuer,
                absl::StrCat("iss is not the expected issuer ", Quote(expected.issuer)), detail);
  }
  const bool audience_ok = std::any_of(jwt.aud.begin(), jwt.aud.end(), [&](const std::string& a) {
    return std::find(expected.audiences.begin(), expected.audiences.end(), a) !=
           expected.audiences.end();
  });
  if (!audience_ok) {
    return Fail(JwtFailure::kWrongAudience, "aud holds no accepted audience", detail);
  }
  if (jwt.tid.empty()) return Fail(JwtFailure::kTenantNotAllowed, "token has no tid", detail);
  if (!expected.tenant_allowed || !expected.tenant_allowed(jwt.tid)) {
    return Fail(JwtFailure::kTenantNotAllowed, "tenant is not allowed", detail);
  }
  if (missing_count > 0) {
    return Fail(JwtFailure::kMissingRoles,
                absl::StrCat("token lacks ", missing_count, " required role(s)"), detail);
  }
  return JwtFailure::kNone;
}

}  // namespace tokend
