#include "tests/devidp/verification_keys.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/devidp/base64url.h"

namespace tokend {
namespace devidp {
namespace {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};

std::string Digest(const EVP_MD* md, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) return "";
  return std::string(reinterpret_cast<const char*>(out), size);
}

absl::StatusOr<BignumPtr> Bignum(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("jwk: missing \"", name, "\""));
  }
  absl::StatusOr<std::string> bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes.ok() || bytes->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("jwk: bad \"", name, "\""));
  }
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                             static_cast<int>(bytes->size()), nullptr));
}

absl::StatusOr<EvpPkeyPtr> RsaPublicKey(const nlohmann::json& jwk) {
  absl::StatusOr<BignumPtr> n = Bignum(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<BignumPtr> e = Bignum(jwk, "e");
  if (!e.ok()) return e.status();
  OsslParamBldPtr build(OSSL_PARAM_BLD_new());
  if (build == nullptr || *n == nullptr || *e == nullptr ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n->get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e->get()) != 1) {
    return absl::InternalError("jwk: cannot build the key");
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(build.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("jwk: not a usable RSA key");
  }
  return EvpPkeyPtr(key);
}

}  // namespace

bool VerifyRsaSignature(EVP_PKEY* key, AssertionAlg alg, absl::string_view input,
                        absl::string_view signature) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
            (alg != AssertionAlg::kPs256 ||
             (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::shared_ptr<const RegisteredCertificate>> RegisteredCertificate::FromPem(
    absl::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM certificate");
  }
  std::shared_ptr<RegisteredCertificate> out(new RegisteredCertificate());
  out->key_.reset(X509_get_pubkey(cert.get()));
  if (out->key_ == nullptr || EVP_PKEY_get_base_id(out->key_.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("the certificate's key is not RSA");
  }
  const int size = i2d_X509(cert.get(), nullptr);
  std::string der(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (size <= 0 || i2d_X509(cert.get(), &p) != size) {
    return absl::InternalError("cannot encode the certificate");
  }
  out->x5t_ = Base64UrlEncode(Digest(EVP_sha1(), der));
  out->x5t_s256_ = Base64UrlEncode(Digest(EVP_sha256(), der));
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) == 1) {
    out->not_after_ = absl::FromTM(tm, absl::UTCTimeZone());
  }
  std::unique_ptr<BIO, BioDeleter> text(BIO_new(BIO_s_mem()));
  if (text == nullptr || PEM_write_bio_X509(text.get(), cert.get()) != 1) {
    return absl::InternalError("cannot encode the certificate");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(text.get(), &data);
  out->pem_.assign(data, static_cast<size_t>(length));
  return std::shared_ptr<const RegisteredCertificate>(std::move(out));
}

absl::StatusOr<std::shared_ptr<const IssuerKeys>> IssuerKeys::FromJwks(const nlohmann::json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return absl::InvalidArgumentError("jwks must be an object with a \"keys\" array");
  }
  std::shared_ptr<IssuerKeys> out(new IssuerKeys());
  for (const nlohmann::json& jwk : jwks["keys"]) {
    if (!jwk.is_object() || jwk.value("kty", "") != "RSA" || !jwk.contains("kid") ||
        !jwk["kid"].is_string()) {
      continue;
    }
    absl::StatusOr<EvpPkeyPtr> key = RsaPublicKey(jwk);
    if (!key.ok()) return key.status();
    out->keys_[jwk["kid"].get<std::string>()] = *std::move(key);
  }
  if (out->keys_.empty()) return absl::InvalidArgumentError("jwks has no RSA key with a kid");
  return std::shared_ptr<const IssuerKeys>(std::move(out));
}

EVP_PKEY* IssuerKeys::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.get();
}

}  // namespace devidp
}  // namespace tokend
