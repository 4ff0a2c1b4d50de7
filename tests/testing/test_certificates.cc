#include "tests/testing/test_certificates.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "service/common/openssl_ptr.h"
#include "service/core/base64url.h"

namespace tokend {
namespace testing {
namespace {

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "test_certificates: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

TestCertificate SelfSign(EvpPkeyPtr key, absl::Time not_before, absl::Time not_after,
                         absl::string_view common_name) {
  if (key == nullptr) Die("key generation");
  X509Ptr cert(X509_new());
  if (cert == nullptr) Die("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), Sha256()) == 0) Die("X509_sign");
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    Die("PEM_write");
  }
  return {BioString(cert_bio.get()), BioString(key_bio.get())};
}

template <typename T, T* (*Read)(BIO*, T**, pem_password_cb*, void*)>
T* ReadPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  T* out = bio ? Read(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (out == nullptr) Die("PEM_read");
  return out;
}

std::string DerDigest(const TestCertificate& certificate, const EVP_MD* md) {
  X509Ptr cert(ReadPem<X509, PEM_read_bio_X509>(certificate.certificate_pem));
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  if (size <= 0) Die("i2d_X509");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  const int ok = EVP_Digest(der, static_cast<size_t>(size), digest, &digest_size, md, nullptr);
  OPENSSL_free(der);
  if (ok != 1) Die("EVP_Digest");
  return Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

}  // namespace

const TestCertificate& FixedCertificate() {
  static const TestCertificate* fixed = new TestCertificate{
      "-----BEGIN CERTIFICATE-----\n"
      "MIICsTCCAZmgAwIBAgIBATANBgkqhkiG9w0BAQsFADAcMRowGAYDVQQDDBF0b2tl\n"
      "bmQtdGVzdC1maXhlZDAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAwMDBaMBwx\n"
      "GjAYBgNVBAMMEXRva2VuZC10ZXN0LWZpeGVkMIIBIjANBgkqhkiG9w0BAQEFAAOC\n"
      "AQ8AMIIBCgKCAQEA77FYlW4kYE1nF+rd1ML8XSJRnx6EYhQmDaStc+Y5NLqpnuST\n"
      "HjjA8067ptHQp4YI/59BD0FIdp8aX/b4obCy3NTarLvsEsyWAZTgCRY/iJfc4btR\n"
      "PAvoOiWLvSpq1+7eGgsGvLKKe7R0FGuk9dMOjIANZ1WN1iCPvCLEKgCvruJWJz6G\n"
      "OpcXZpQS9KhL0KW8lUX7oq2kRa0pg/45SNyqkdyuBouSDk0guBwzUWosO/RDkFpJ\n"
      "kkLG7cLifJkU3uL4BrIs0kEYeZ66/g8AnPELkoJOHPk5qb+fwt6G4meB0rq29fu0\n"
      "XR2lTkJEaBsAr11EWVecRA7d32+VrvBWmk12YQIDAQABMA0GCSqGSIb3DQEBCwUA\n"
      "A4IBAQBPnEurevNZGDSlfw0/3QsALfPzioInBck7+qE2iC/xKjxA2fY1xbJsAnYZ\n"
      "Vtp9mUy6GClQOFfbeT3O0B96PrBLNOh6znn0irJ+9pZCJmnBnBT77Y1wBjUCdxzv\n"
      "UAbnykQ5xG84eIjdp4Cf9VZIRYZzWqFCbIl1MZdGDUXu5eWUNR0PU6WRXNMsCe+O\n"
      "WvLWi3L0CYGC7sOXo5uS4FnPfNIAq20dlFtxEF/tU/KYO+4Jn/mPWteWAPA4Ms46\n"
      "IhneJgUPdlXIf+6foUAmh/0crRkHf5/djhEGY2Xh36XKIikR0lVlzo1Rt/Bnavc0\n"
      "VaoZNyUzMrEBaD90MeLQrf0BCP40\n"
      "-----END CERTIFICATE-----\n",
      "-----BEGIN PRIVATE KEY-----\n"
      "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDvsViVbiRgTWcX\n"
      "6t3UwvxdIlGfHoRiFCYNpK1z5jk0uqme5JMeOMDzTrum0dCnhgj/n0EPQUh2nxpf\n"
      "9vihsLLc1Nqsu+wSzJYBlOAJFj+Il9zhu1E8C+g6JYu9KmrX7t4aCwa8sop7tHQU\n"
      "a6T10w6MgA1nVY3WII+8IsQqAK+u4lYnPoY6lxdmlBL0qEvQpbyVRfuiraRFrSmD\n"
      "/jlI3KqR3K4Gi5IOTSC4HDNRaiw79EOQWkmSQsbtwuJ8mRTe4vgGsizSQRh5nrr+\n"
      "DwCc8QuSgk4c+Tmpv5/C3obiZ4HSurb1+7RdHaVOQkRoGwCvXURZV5xEDt3fb5Wu\n"
      "8FaaTXZhAgMBAAECggEAa1Q8WF1DiKPgQAN5ZaYSHxoY9mlR2iEvkPhmevliMExN\n"
      "W8r6XZQIQmrE+EQHbJxGN0B2f4A6FHPV+Za7apuW2++sI6DaauiVWwvw7eC6fk2S\n"
      "KLoZ/AtQ54icdA4kXaCmb370e1ZvUElTmTlCWpkxcJR+bAERTAq0kgf3Ut+Py3zM\n"
      "KG28KXtrCKQ1UjxYIm+wxg4QfeRCN0GFNUN2auxSlDMYdkVJilXWQlMdcGBB6dAo\n"
      "TTzNh5cORS/PIn0nqFNQv2gpHiPOwuSgQL0WUqFqACluuIyqCuQP4TK3V0r/yjIS\n"
      "iXaaAY3ued6rIq607PoCXesKKScFW46uCXWX+nIGqQKBgQD/c03cLDKvRjCakceH\n"
      "JzSuhZSrnT7n6WCz1HLtLGeXes7MCwbbIUKjp9t1YX8eiC4uDdunwXg6i9u9RDGZ\n"
      "z5VvmF71LPLpeQZSCxNSMBNbSdvKiBTPwtlagrN5AewKWiOXosy+AxEK8YmwQhau\n"
      "zd+jksnbde3DGdQLBVtefyM0cwKBgQDwNVzq90dRbWx5JmjaBxTNUVIrVJ41Sj5J\n"
      "54IfenSSrO1JNFzraOuRNp/UiRaQWEfw7btXS8UkGXrL8P23NEO8XUnyzBUAe4PP\n"
      "/yq6B6z0Hxi7XCAB6/DWMH7dbSwJ10+0khrZvL9dYvl5CqBejNRl0qHZ9kyqUiSX\n"
      "ajwrNUQI2wKBgQCP/CIK1C7NdLa4qSraF1Mue8TM5pkqhvUm57zPypOpYmNlx2FZ\n"
      "6mlxbY/ZndbVEtVUyCLjb72g4mw9Rk7e746/lBcSAv/4cWsKm4uMa+S9M+hbRFDW\n"
      "unFg/wLCVj8BpsUhF3ZoM7pLfNGrM9UtOoWv4XE97j7SFaDbhW122hqx2QKBgQDW\n"
      "s7vTwSab36R/PRenGYE8a514YW/vzeaTBDzIihm8KJkHP6h2OhekeiCuRcJHTsEu\n"
      "1i8HPhB9zdB2jXcZ07tfmDrKrCNxhPUyaq70DHxIz6q5fQSW8x8XM82ReU1NlogF\n"
      "rDoXuJ+LhzXZPOhO2q3WPUixm3a3HijatfgF3txq1QKBgQCcLFBZg/dB/8nyO9XG\n"
      "ZEMm9REZ9krFjyvsAu+apb4y+bwhIPXAEe3uORMaLRKfc89rS+3YTh57HXZYYscI\n"
      "yp18cPBz4bU6YOsMJWxB7uzUYySmvt1BBXKdOYe9KVgC4I+3Pe9avboqVQxuMaUk\n"
      "3QU12ypDrFGGZauBMgAu/JhcaA==\n"
      "-----END PRIVATE KEY-----\n"};
  return *fixed;
}

TestCertificate MakeCertificate(absl::Time not_before, absl::Time not_after, int bits,
                                absl::string_view common_name) {
  return SelfSign(EvpPkeyPtr(EVP_RSA_gen(static_cast<unsigned int>(bits))), not_before, not_after,
                  common_name);
}

TestCertificate MakeCertificate() {
  const absl::Time now = absl::Now();
  return MakeCertificate(now - absl::Hours(24 * 365), now + absl::Hours(24 * 365));
}

TestCertificate MakeEcCertificate() {
  const absl::Time now = absl::Now();
  return SelfSign(EvpPkeyPtr(EVP_EC_gen("P-256")), now - absl::Hours(1), now + absl::Hours(24),
                  "tokend-test-ec");
}

namespace {

// Adds the extension `nid` with `value` (OpenSSL configuration syntax) to `cert`.
void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) Die("X509V3_EXT_conf_nid");
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) Die("X509_add_ext");
}

// A certificate for a fresh EC P-256 key, signed by `issuer_key` (itself when null).
TestCertificate IssueEcCertificate(X509* issuer, EVP_PKEY* issuer_key,
                                   absl::string_view common_name,
                                   absl::string_view subject_alt_names, long serial, bool ca) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) Die("EVP_EC_gen");
  X509Ptr cert(X509_new());
  if (cert == nullptr) Die("X509_new");
  const absl::Time now = absl::Now();
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now - absl::Hours(24)));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(now + absl::Hours(24 * 365)));
  const std::string cn(common_name);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key.get());
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (ca) {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
    if (!subject_alt_names.empty()) {
      AddExtension(cert.get(), issuer_cert, NID_subject_alt_name, std::string(subject_alt_names));
    }
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key.get(), Sha256()) == 0) {
    Die("X509_sign");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    Die("PEM_write");
  }
  return {BioString(cert_bio.get()), BioString(key_bio.get())};
}

}  // namespace

TestCertificate MakeCaCertificate(absl::string_view common_name) {
  return IssueEcCertificate(nullptr, nullptr, common_name, "", 1, /*ca=*/true);
}

TestCertificate MakeSignedCertificate(const TestCertificate& ca, absl::string_view common_name,
                                      absl::string_view subject_alt_names, long serial) {
  X509Ptr issuer(ReadPem<X509, PEM_read_bio_X509>(ca.certificate_pem));
  EvpPkeyPtr issuer_key(ReadPem<EVP_PKEY, PEM_read_bio_PrivateKey>(ca.private_key_pem));
  return IssueEcCertificate(issuer.get(), issuer_key.get(), common_name, subject_alt_names, serial,
                            /*ca=*/false);
}

std::string SignWithCertificate(const TestCertificate& certificate, SigningAlg alg,
                                absl::string_view header_json, absl::string_view payload_json) {
  EvpPkeyPtr key(ReadPem<EVP_PKEY, PEM_read_bio_PrivateKey>(certificate.private_key_pem));
  const std::string input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), &pctx, Sha256(), nullptr, key.get()) != 1) {
    Die("EVP_DigestSignInit");
  }
  if (alg == SigningAlg::kPs256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    Die("PSS padding");
  }
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) Die("EVP_DigestSign");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                     input.size()) != 1) {
    Die("EVP_DigestSign");
  }
  signature.resize(size);
  return absl::StrCat(input, ".", Base64UrlEncode(signature));
}

std::string X5t(const TestCertificate& certificate) { return DerDigest(certificate, EVP_sha1()); }

std::string X5tS256(const TestCertificate& certificate) { return DerDigest(certificate, Sha256()); }

JwtParts DecodeJwt(absl::string_view jwt) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  JwtParts out{nlohmann::json::value_t::discarded, nlohmann::json::value_t::discarded};
  if (parts.size() != 3) return out;
  std::optional<std::string> header = Base64UrlDecode(parts[0]);
  std::optional<std::string> payload = Base64UrlDecode(parts[1]);
  if (header.has_value()) out.header = nlohmann::json::parse(*header, nullptr, false);
  if (payload.has_value()) out.payload = nlohmann::json::parse(*payload, nullptr, false);
  return out;
}

}  // namespace testing
}  // namespace tokend
