#include "tests/devidp/rsa_signing_key.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <vector>

#include "absl/status/status.h"
#include "tests/devidp/base64url.h"

namespace tokend {
namespace devidp {
namespace {

constexpr char kCertificateSubject[] = "accounts.accesscontrol.windows.net";
constexpr long kCertificateValiditySeconds = 5L * 365 * 24 * 3600;

absl::StatusOr<EvpPkeyPtr> GenerateRsaKey(int bits) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1) {
    return absl::InternalError("cannot set up RSA key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return absl::InternalError("RSA key generation failed");
  }
  return EvpPkeyPtr(raw);
}

absl::StatusOr<std::string> BignumParamBase64Url(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    return absl::InternalError("cannot read RSA key parameter");
  }
  BignumPtr bn(raw);
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return Base64UrlEncode(bytes);
}

// Returns the DER of a self-signed certificate for `pkey`.
absl::StatusOr<std::string> SelfSignedCertificateDer(EVP_PKEY* pkey) {
  X509Ptr cert(X509_new());
  BignumPtr serial(BN_new());
  if (cert == nullptr || serial == nullptr) return absl::InternalError("out of memory");
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), kCertificateValiditySeconds) != nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok && name != nullptr &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(kCertificateSubject), -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), pkey) == 1 &&
       X509_sign(cert.get(), pkey, EVP_sha256()) > 0;
  if (!ok) return absl::InternalError("cannot build the self-signed certificate");
  const int length = i2d_X509(cert.get(), nullptr);
  if (length <= 0) return absl::InternalError("cannot encode the certificate");
  std::string der(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert.get(), &out) != length) {
    return absl::InternalError("cannot encode the certificate");
  }
  return der;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RsaSigningKey>> RsaSigningKey::Generate(int bits) {
  absl::StatusOr<EvpPkeyPtr> pkey = GenerateRsaKey(bits);
  if (!pkey.ok()) return pkey.status();
  std::unique_ptr<RsaSigningKey> key(new RsaSigningKey(*std::move(pkey)));

  absl::StatusOr<std::string> der = SelfSignedCertificateDer(key->pkey_.get());
  if (!der.ok()) return der.status();
  unsigned char sha1[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(der->data()), der->size(), sha1);
  key->x5t_ = Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(sha1), sizeof(sha1)));
  key->kid_ = key->x5t_;
  key->cert_b64_ = Base64Encode(*der);

  absl::StatusOr<std::string> n = BignumParamBase64Url(key->pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = BignumParamBase64Url(key->pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
  if (!e.ok()) return e.status();
  key->n_ = *std::move(n);
  key->e_ = *std::move(e);
  return key;
}

absl::StatusOr<std::string> RsaSigningKey::SignRs256(absl::string_view input) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1) {
    return absl::InternalError("cannot initialise RS256 signing");
  }
  size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  signature.resize(length);
  return signature;
}

}  // namespace devidp
}  // namespace tokend
