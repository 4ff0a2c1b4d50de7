#include "tests/devidp/client_assertion_verifier.h"

#include <openssl/evp.h>

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/devidp/base64url.h"
#include "tests/devidp/verification_keys.h"

namespace tokend {
namespace devidp {

struct ParsedAssertion {
  nlohmann::json header;
  std::string signing_input;  // "header.payload" as sent.
  std::string signature;      // Decoded.
  std::string digest;         // SHA-256 of the whole assertion.
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  bool aud_is_string = false;
  std::string jti;
  absl::optional<int64_t> nbf;
  int64_t exp = 0;
};

namespace {

constexpr size_t kMaxAssertionSize = 16 * 1024;
constexpr size_t kMaxSeenJtis = 100000;  // Beyond this the replay memory starts over.

absl::optional<EntraError> Malformed(absl::string_view why) {
  return EntraError::MalformedClientAssertion(why);
}

// Reads the optional string claim `name`; false if present with another type.
bool ReadString(const nlohmann::json& object, const char* name, std::string* out) {
  auto it = object.find(name);
  if (it == object.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

absl::optional<EntraError> Parse(absl::string_view assertion, ParsedAssertion* out) {
  if (assertion.size() > kMaxAssertionSize) return Malformed("too large");
  std::vector<absl::string_view> parts = absl::StrSplit(assertion, '.');
  if (parts.size() != 3) return Malformed("not a compact JWS");
  absl::StatusOr<std::string> header = Base64UrlDecode(parts[0]);
  absl::StatusOr<std::string> payload = Base64UrlDecode(parts[1]);
  absl::StatusOr<std::string> signature = Base64UrlDecode(parts[2]);
  if (!header.ok() || !payload.ok() || !signature.ok()) return Malformed("bad base64url");
  out->header = nlohmann::json::parse(*header, nullptr, false);
  const nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
  if (!out->header.is_object() || !claims.is_object()) return Malformed("not JSON objects");
  if (!out->header.contains("alg") || !out->header["alg"].is_string()) {
    return Malformed("no alg");
  }
  out->signing_input = absl::StrCat(parts[0], ".", parts[1]);
  out->signature = *std::move(signature);
  if (!ReadString(claims, "iss", &out->iss) || !ReadString(claims, "sub", &out->sub) ||
      !ReadString(claims, "jti", &out->jti)) {
    return Malformed("iss, sub and jti must be strings");
  }
  if (out->iss.empty()) return Malformed("no iss");
  auto aud = claims.find("aud");
  if (aud != claims.end() && aud->is_string()) {
    out->aud = {aud->get<std::string>()};
    out->aud_is_string = true;
  } else if (aud != claims.end() && aud->is_array()) {
    for (const nlohmann::json& one : *aud) {
      if (!one.is_string()) return Malformed("aud must hold strings");
      out->aud.push_back(one.get<std::string>());
    }
  }
  if (out->aud.empty()) return Malformed("no aud");
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer()) return Malformed("no integer exp");
  out->exp = exp->get<int64_t>();
  auto nbf = claims.find("nbf");
  if (nbf != claims.end()) {
    if (!nbf->is_number_integer()) return Malformed("nbf must be an integer");
    out->nbf = nbf->get<int64_t>();
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(assertion.data(), assertion.size(), digest, &size, EVP_sha256(), nullptr);
  out->digest.assign(reinterpret_cast<const char*>(digest), size);
  return absl::nullopt;
}

// Returns true iff `aud` is the v1 or v2 token endpoint of `tenant` under one of `base_urls`.
bool IsTokenEndpointOf(absl::string_view aud, const TenantConfig& tenant,
                       const std::vector<std::string>& base_urls, const Directory& directory) {
  for (const std::string& base : base_urls) {
    absl::string_view rest = aud;
    if (!absl::ConsumePrefix(&rest, base) || !absl::ConsumePrefix(&rest, "/")) continue;
    const size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) continue;
    const TenantConfig* named = directory.FindTenant(rest.substr(0, slash));
    rest.remove_prefix(slash);
    if (named != nullptr && named->id == tenant.id &&
        (rest == "/oauth2/v2.0/token" || rest == "/oauth2/token")) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::optional<EntraError> ClientAssertionVerifier::Verify(
    absl::string_view assertion_type, absl::string_view assertion, absl::string_view client_id,
    const TenantConfig& tenant, const std::vector<std::string>& base_urls, absl::Time now) const {
  if (assertion_type != kJwtBearerAssertionType) {
    return Malformed(absl::StrCat("client_assertion_type must be ", kJwtBearerAssertionType));
  }
  ParsedAssertion jwt;
  if (absl::optional<EntraError> error = Parse(assertion, &jwt)) return error;
  const bool certificate = absl::EqualsIgnoreCase(jwt.iss, client_id);
  absl::optional<EntraError> error = certificate
                                         ? VerifyCertificate(jwt, client_id, tenant, base_urls)
                                         : VerifyFederated(jwt, client_id);
  if (error.has_value()) return error;
  if (absl::optional<EntraError> time = CheckTime(jwt, now)) return time;
  if (certificate && jwt.jti.empty()) return Malformed("no jti");
  if (jwt.jti.empty()) return absl::nullopt;  // Older service-account tokens have none.
  return CheckReplay(jwt,
                     certificate ? absl::StrCat("app:", absl::AsciiStrToLower(client_id))
                                 : absl::StrCat("issuer:", jwt.iss),
                     now);
}

absl::optional<EntraError> ClientAssertionVerifier::VerifyCertificate(
    const ParsedAssertion& jwt, absl::string_view client_id, const TenantConfig& tenant,
    const std::vector<std::string>& base_urls) const {
  const std::string alg = jwt.header["alg"].get<std::string>();
  if (alg != "PS256" && alg != "RS256") return Malformed("alg must be PS256 or RS256");
  std::string x5t_s256;
  std::string x5t;
  if (!ReadString(jwt.header, "x5t#S256", &x5t_s256) || !ReadString(jwt.header, "x5t", &x5t)) {
    return Malformed("x5t#S256 and x5t must be strings");
  }
  bool found = false;
  for (const std::shared_ptr<const RegisteredCertificate>& certificate :
       directory_.Certificates(client_id)) {
    if ((!x5t_s256.empty() && certificate->x5t_s256() == x5t_s256) ||
        (x5t_s256.empty() && !x5t.empty() && certificate->x5t() == x5t)) {
      found = true;
      if (!VerifyRsaSignature(certificate->public_key(),
                              alg == "PS256" ? AssertionAlg::kPs256 : AssertionAlg::kRs256,
                              jwt.signing_input, jwt.signature)) {
        return EntraError::AssertionBadSignature();
      }
      break;
    }
  }
  if (!found) return EntraError::AssertionKeyNotFound(x5t_s256.empty() ? x5t : x5t_s256);
  if (!absl::EqualsIgnoreCase(jwt.sub, client_id)) return EntraError::AssertionWrongSubject();
  if (!jwt.aud_is_string) return Malformed("aud must be a string");
  if (!IsTokenEndpointOf(jwt.aud[0], tenant, base_urls, directory_)) {
    return EntraError::AssertionWrongAudience();
  }
  return absl::nullopt;
}

absl::optional<EntraError> ClientAssertionVerifier::VerifyFederated(
    const ParsedAssertion& jwt, absl::string_view client_id) const {
  const std::string audiences = absl::StrJoin(jwt.aud, ",");
  std::shared_ptr<const IssuerKeys> keys = directory_.FederatedIssuerKeys(jwt.iss);
  if (keys == nullptr) {
    return EntraError::NoMatchingFederatedCredential(jwt.iss, jwt.sub, audiences);
  }
  if (jwt.header["alg"] != "RS256") return Malformed("federated tokens must be RS256");
  std::string kid;
  ReadString(jwt.header, "kid", &kid);
  EVP_PKEY* key = keys->Find(kid);
  if (key == nullptr) return EntraError::AssertionKeyNotFound(kid);
  if (!VerifyRsaSignature(key, AssertionAlg::kRs256, jwt.signing_input, jwt.signature)) {
    return EntraError::AssertionBadSignature();
  }
  for (const FederatedCredentialConfig& credential : directory_.FederatedCredentials(client_id)) {
    if (credential.issuer != jwt.iss || credential.subject != jwt.sub) continue;
    for (const std::string& audience : jwt.aud) {
      if (audience == credential.audience) return absl::nullopt;
    }
  }
  return EntraError::NoMatchingFederatedCredential(jwt.iss, jwt.sub, audiences);
}

absl::optional<EntraError> ClientAssertionVerifier::CheckTime(const ParsedAssertion& jwt,
                                                              absl::Time now) {
  const absl::Time expires = absl::FromUnixSeconds(jwt.exp);
  const absl::Time not_before = jwt.nbf.has_value() ? absl::FromUnixSeconds(*jwt.nbf) : now;
  if (now >= expires + kAssertionClockSkew || now < not_before - kAssertionClockSkew) {
    return EntraError::AssertionOutsideTimeRange(now, not_before, expires);
  }
  return absl::nullopt;
}

absl::optional<EntraError> ClientAssertionVerifier::CheckReplay(const ParsedAssertion& jwt,
                                                                const std::string& scope,
                                                                absl::Time now) const {
  const std::string key = absl::StrCat(scope, "|", jwt.jti);
  absl::MutexLock lock(&mu_);
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = it->second.forget_at <= now ? seen_.erase(it) : std::next(it);
  }
  if (seen_.size() >= kMaxSeenJtis) seen_.clear();
  auto [it, inserted] =
      seen_.emplace(key, SeenJti{jwt.digest, absl::FromUnixSeconds(jwt.exp) + kAssertionClockSkew});
  if (!inserted && it->second.digest != jwt.digest) return EntraError::AssertionReplayed();
  return absl::nullopt;
}

}  // namespace devidp
}  // namespace tokend
