#include "service/core/jwks.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "service/common/status_macros.h"
#include "service/core/base64url.h"
#include "service/core/jwt.h"
#include "service/core/url_encoding.h"

namespace tokend {
namespace {

using Json = nlohmann::json;

constexpr size_t kEcCoordinateBytes = 32;  // P-256.
constexpr int kMaxRsaExponentBits = 256;

// A key we do not use (other kty, crv or use): skipped without being counted as malformed.
absl::Status Unsupported(absl::string_view message) { return absl::UnimplementedError(message); }
absl::Status Malformed(absl::string_view message) { return absl::InvalidArgumentError(message); }

// Returns the string member `name`, nullopt when absent; error when present but not a string.
absl::StatusOr<std::optional<std::string>> StringMember(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::optional<std::string>();
  const auto* s = it->get_ptr<const Json::string_t*>();
  if (s == nullptr) return Malformed(absl::StrCat(name, " is not a string"));
  return std::optional<std::string>(*s);
}

absl::StatusOr<std::string> DecodedMember(const Json& object, const char* name) {
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> encoded, StringMember(object, name));
  if (!encoded.has_value()) return Malformed(absl::StrCat(name, " is missing"));
  std::optional<std::string> decoded = Base64UrlDecode(*encoded);
  if (!decoded.has_value()) return Malformed(absl::StrCat(name, " is not unpadded base64url"));
  return *std::move(decoded);
}

BignumPtr ToBignum(const std::string& bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), nullptr));
}

// Builds a public key of type `type` ("RSA", "EC") from the parameters in `bld`.
absl::StatusOr<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Malformed(absl::StrCat("OpenSSL rejects the ", type, " key"));
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return Malformed(absl::StrCat("the ", type, " public key fails OpenSSL's check"));
  }
  return pkey;
}

absl::StatusOr<EvpPkeyPtr> RsaKey(const Json& jwk, const JwksLimits& limits) {
  TOKEND_ASSIGN_OR_RETURN(std::string n_bytes, DecodedMember(jwk, "n"));
  TOKEND_ASSIGN_OR_RETURN(std::string e_bytes, DecodedMember(jwk, "e"));
  BignumPtr n = ToBignum(n_bytes);  // BN_bin2bn ignores leading zero octets.
  BignumPtr e = ToBignum(e_bytes);
  if (n == nullptr || e == nullptr) return absl::ResourceExhaustedError("out of memory");
  const int bits = BN_num_bits(n.get());
  if (bits < limits.min_rsa_bits || bits > limits.max_rsa_bits) {
    return Malformed(absl::StrCat("RSA modulus has ", bits, " bits, outside ", limits.min_rsa_bits,
                                  "..", limits.max_rsa_bits));
  }
  if (!BN_is_odd(n.get())) return Malformed("RSA modulus is even");
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 ||
      BN_num_bits(e.get()) > kMaxRsaExponentBits || BN_cmp(e.get(), n.get()) >= 0) {
    return Malformed("RSA exponent is not an odd number from 3 to 2^256");
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return FromData("RSA", bld.get());
}

absl::StatusOr<EvpPkeyPtr> EcKey(const Json& jwk) {
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> crv, StringMember(jwk, "crv"));
  if (!crv.has_value()) return Malformed("crv is missing");
  if (*crv != "P-256") return Unsupported("crv is not P-256");
  TOKEND_ASSIGN_OR_RETURN(std::string x, DecodedMember(jwk, "x"));
  TOKEND_ASSIGN_OR_RETURN(std::string y, DecodedMember(jwk, "y"));
  if (x.size() != kEcCoordinateBytes || y.size() != kEcCoordinateBytes) {
    return Malformed("EC x and y must be 32 bytes each");
  }
  const std::string point = absl::StrCat("\x04", x, y);  // SEC 1 uncompressed.
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return FromData("EC", bld.get());
}

// Parses one entry of "keys". UNIMPLEMENTED for keys we do not use, INVALID_ARGUMENT for
// malformed ones.
absl::StatusOr<Jwk> ParseKey(const Json& entry, const JwksLimits& limits) {
  if (!entry.is_object()) return Malformed("not an object");
  Jwk jwk;
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> kty, StringMember(entry, "kty"));
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> use, StringMember(entry, "use"));
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> kid, StringMember(entry, "kid"));
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> alg, StringMember(entry, "alg"));
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> issuer, StringMember(entry, "issuer"));
  if (!kty.has_value()) return Malformed("kty is missing");
  if (*kty != "RSA" && *kty != "EC") return Unsupported("kty is neither RSA nor EC");
  if (use.has_value() && *use != "sig") return Unsupported("use is not sig");
  if (!kid.has_value() || kid->empty()) return Malformed("kid is missing");
  if (*kty == "RSA") {
    TOKEND_ASSIGN_OR_RETURN(jwk.key, RsaKey(entry, limits));
  } else {
    TOKEND_ASSIGN_OR_RETURN(jwk.key, EcKey(entry));
  }
  jwk.kid = *std::move(kid);
  jwk.kty = *std::move(kty);
  jwk.alg = alg.value_or("");
  jwk.use = use.value_or("");
  jwk.issuer = issuer.value_or("");
  return jwk;
}

// "key 3 (kid "abc")", with the kid escaped and cut short, for notes.
std::string KeyLabel(size_t index, const Json& entry) {
  const Json::string_t* kid = nullptr;
  if (entry.is_object()) {
    auto it = entry.find("kid");
    if (it != entry.end()) kid = it->get_ptr<const Json::string_t*>();
  }
  if (kid == nullptr) return absl::StrCat("key ", index);
  return absl::StrCat("key ", index, " (kid \"", absl::CHexEscape(kid->substr(0, 64)), "\")");
}

}  // namespace

const Jwk* JwkSet::Find(absl::string_view kid) const {
  for (const Jwk& jwk : keys) {
    if (jwk.kid == kid) return &jwk;
  }
  return nullptr;
}

absl::StatusOr<JwkSet> ParseJwks(absl::string_view json, const JwksLimits& limits) {
  if (json.size() > limits.max_bytes) {
    return Malformed(absl::StrCat("jwks is larger than ", limits.max_bytes, " bytes"));
  }
  const JsonLimits json_limits{/*max_depth=*/8, /*max_members=*/100,
                               /*max_string_bytes=*/32 * 1024};
  TOKEND_ASSIGN_OR_RETURN(Json document, ParseStrictJsonObject(json, json_limits, "jwks"));
  auto keys = document.find("keys");
  if (keys == document.end() || !keys->is_array()) return Malformed("jwks has no keys array");
  if (keys->size() > limits.max_keys) {
    return Malformed(absl::StrCat("jwks has more than ", limits.max_keys, " keys"));
  }
  JwkSet set;
  for (size_t i = 0; i < keys->size(); ++i) {
    const Json& entry = (*keys)[i];
    absl::StatusOr<Jwk> jwk = ParseKey(entry, limits);
    if (!jwk.ok()) {
      ERR_clear_error();  // Leave no OpenSSL errors behind for unrelated code to find.
      if (jwk.status().code() == absl::StatusCode::kUnimplemented) {
        ++set.skipped_unsupported;
      } else {
        ++set.skipped_malformed;
      }
      set.notes.push_back(absl::StrCat(KeyLabel(i, entry), " skipped: ", jwk.status().message()));
    } else if (set.Find(jwk->kid) != nullptr) {
      ++set.skipped_duplicates;
      set.notes.push_back(absl::StrCat(KeyLabel(i, entry), " skipped: duplicate kid"));
    } else {
      set.keys.push_back(*std::move(jwk));
    }
  }
  return set;
}

absl::StatusOr<DiscoveryDocument> ParseDiscovery(absl::string_view json, size_t max_bytes) {
  if (json.size() > max_bytes) {
    return Malformed(absl::StrCat("discovery document is larger than ", max_bytes, " bytes"));
  }
  const JsonLimits json_limits{/*max_depth=*/8, /*max_members=*/200,
                               /*max_string_bytes=*/8 * 1024};
  TOKEND_ASSIGN_OR_RETURN(Json document,
                          ParseStrictJsonObject(json, json_limits, "discovery document"));
  DiscoveryDocument result;
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> issuer, StringMember(document, "issuer"));
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::string> jwks_uri, StringMember(document, "jwks_uri"));
  if (!issuer.has_value() || issuer->empty()) {
    return Malformed("discovery document has no issuer");
  }
  if (!jwks_uri.has_value()) return Malformed("discovery document has no jwks_uri");
  absl::StatusOr<ParsedUrl> url = ParseHttpUrl(*jwks_uri);
  if (!url.ok()) {
    return Malformed(absl::StrCat("discovery document jwks_uri ", url.status().message()));
  }
  result.issuer = *std::move(issuer);
  result.jwks_uri = *std::move(jwks_uri);
  return result;
}

}  // namespace tokend
