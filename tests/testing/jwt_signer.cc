#include "tests/testing/jwt_signer.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/core/base64url.h"

namespace tokend {
namespace testing {
namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "jwt_signer: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

// The big-endian bytes of BIGNUM parameter `name` of `pkey`, left-padded to `width` if > 0.
std::string BignumParam(const EVP_PKEY* pkey, const char* name, int width) {
  BIGNUM* raw = nullptr;
  Check(EVP_PKEY_get_bn_param(pkey, name, &raw) == 1, "EVP_PKEY_get_bn_param");
  BignumPtr bn(raw);
  const int size = width > 0 ? width : BN_num_bytes(bn.get());
  std::string bytes(static_cast<size_t>(size), '\0');
  Check(BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()), size) == size,
        "BN_bn2binpad");
  return bytes;
}

// Converts a DER ECDSA signature to JOSE r||s (32 bytes each).
std::string DerToJose(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string jose(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(jose.data());
  Check(BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32, "BN_bn2binpad");
  return jose;
}

}  // namespace

TestKey::TestKey(EvpPkeyPtr pkey, std::string kid, std::string alg)
    : pkey_(std::move(pkey)), kid_(std::move(kid)), alg_(std::move(alg)) {}

TestKey TestKey::Rsa(int bits, std::string kid, std::string alg) {
  EvpPkeyPtr pkey(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  Check(pkey != nullptr, "EVP_RSA_gen");
  return TestKey(std::move(pkey), std::move(kid), std::move(alg));
}

TestKey TestKey::Ec(std::string kid, std::string alg) {
  EvpPkeyPtr pkey(EVP_EC_gen("P-256"));
  Check(pkey != nullptr, "EVP_EC_gen");
  return TestKey(std::move(pkey), std::move(kid), std::move(alg));
}

nlohmann::json TestKey::Jwk() const {
  nlohmann::json jwk;
  jwk["kid"] = kid_;
  jwk["use"] = "sig";
  if (!alg_.empty()) jwk["alg"] = alg_;
  if (EVP_PKEY_is_a(pkey_.get(), "RSA")) {
    jwk["kty"] = "RSA";
    jwk["n"] = Base64UrlEncode(BignumParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
    jwk["e"] = Base64UrlEncode(BignumParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = Base64UrlEncode(BignumParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
    jwk["y"] = Base64UrlEncode(BignumParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  }
  return jwk;
}

std::string TestKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) == 1,
        "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string TestKey::Signature(SigningAlg alg, absl::string_view input) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  Check(ctx != nullptr &&
            EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey_.get()) == 1,
        "EVP_DigestSignInit");
  if (alg == SigningAlg::kPs256) {
    Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1,
          "PSS parameters");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  size_t length = 0;
  Check(EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) == 1, "EVP_DigestSign");
  std::string signature(length, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                       input.size()) == 1,
        "EVP_DigestSign");
  signature.resize(length);
  return alg == SigningAlg::kEs256 ? DerToJose(signature) : signature;
}

std::string TestKey::Sign(SigningAlg alg, absl::string_view header_json,
                          absl::string_view payload_json) const {
  const std::string input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  return absl::StrCat(input, ".", Base64UrlEncode(Signature(alg, input)));
}

std::string JwksJson(const std::vector<nlohmann::json>& keys) {
  nlohmann::json jwks;
  jwks["keys"] = keys;
  return jwks.dump();
}

std::string AssembleToken(absl::string_view header_json, absl::string_view payload_json,
                          absl::string_view signature) {
  return absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json), ".",
                      Base64UrlEncode(signature));
}

std::string SignHs256(absl::string_view header_json, absl::string_view payload_json,
                      absl::string_view secret) {
  const std::string input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_length = 0;
  Check(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                  sizeof(mac), &mac_length) != nullptr,
        "EVP_Q_mac");
  return absl::StrCat(
      input, ".",
      Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(mac), mac_length)));
}

}  // namespace testing
}  // namespace tokend
