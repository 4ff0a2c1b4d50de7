// std::unique_ptr aliases, with deleter structs, for the OpenSSL 3 objects tokend owns (after
// private-join-and-compute's crypto/context.h). Every OpenSSL object the service creates is held
// by one of these from the moment it exists, so no early return can leak it.
#ifndef TOKEND_SERVICE_COMMON_OPENSSL_PTR_H_
#define TOKEND_SERVICE_COMMON_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <memory>

namespace tokend {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EvpMdDeleter {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct OsslParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct OsslParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpMdPtr = std::unique_ptr<EVP_MD, EvpMdDeleter>;  // From EVP_MD_fetch.
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslParamBldDeleter>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslParamDeleter>;

// SHA-256 fetched once from the default provider. EVP_sha256() makes OpenSSL 3 look the
// algorithm up again, under its store's lock, every time it is used; the hot paths (token
// digests, signature checks) use this instead. Never freed; never null once OpenSSL works.
inline const EVP_MD* Sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace tokend

#endif  // TOKEND_SERVICE_COMMON_OPENSSL_PTR_H_
