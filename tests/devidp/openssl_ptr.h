// std::unique_ptr aliases with deleters for the OpenSSL objects the dev IdP owns.
#ifndef TOKEND_TESTS_DEVIDP_OPENSSL_PTR_H_
#define TOKEND_TESTS_DEVIDP_OPENSSL_PTR_H_

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <memory>

namespace tokend {
namespace devidp {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct OsslParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct OsslParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslParamBldDeleter>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslParamDeleter>;

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_OPENSSL_PTR_H_
