#include "service/core/certificate_assertion.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <ctime>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "service/core/base64url.h"

namespace tokend {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr size_t kMaxCachedAssertions = 1024;  // (client id, endpoint) pairs; then start over.
constexpr absl::Duration kMaxLifetime = absl::Hours(1);

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

absl::Status Invalid(absl::string_view why) {
  ERR_clear_error();  // Leave no parse errors behind on this thread's OpenSSL error queue.
  return absl::InvalidArgumentError(why);
}

// The time an ASN1_TIME names, or nullopt when unreadable.
std::optional<absl::Time> ToTime(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                           tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

std::string Digest(const EVP_MD* md, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) return "";
  return std::string(reinterpret_cast<const char*>(out), size);
}

// A random (version 4) GUID, lowercase: Entra's form of a jti.
std::string RandomGuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) return "";
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return absl::StrFormat("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

std::optional<AssertionAlgorithm> ParseAssertionAlgorithm(absl::string_view name) {
  if (name == "PS256") return AssertionAlgorithm::kPs256;
  if (name == "RS256") return AssertionAlgorithm::kRs256;
  return std::nullopt;
}

const char* AssertionAlgorithmName(AssertionAlgorithm algorithm) {
  return algorithm == AssertionAlgorithm::kRs256 ? "RS256" : "PS256";
}

absl::StatusOr<std::unique_ptr<CertificateAssertion>> CertificateAssertion::Create(
    const SecretString& pem, CertificateAssertionOptions options) {
  if (options.lifetime <= absl::ZeroDuration() || options.lifetime > kMaxLifetime ||
      options.renew_before < absl::ZeroDuration() || options.renew_before >= options.lifetime) {
    return Invalid("assertion lifetime must be up to 1h and longer than renew_before");
  }
  if (pem.empty()) return Invalid("is empty");
  auto bio = [&] {
    return BioPtr(BIO_new_mem_buf(pem.Reveal().data(), static_cast<int>(pem.size())));
  };
  // Never prompt for a passphrase: an encrypted key is reported as missing.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  BioPtr cert_bio = bio();
  X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr)
                        : nullptr);
  if (cert == nullptr) return Invalid("has no PEM certificate");
  BioPtr key_bio = bio();
  EvpPkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr)
                         : nullptr);
  if (key == nullptr) return Invalid("has no unencrypted PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Invalid("the private key does not match the certificate");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return Invalid("the key must be RSA (Entra ID accepts RSA certificates only)");
  }
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    return Invalid(absl::StrCat("the RSA key has ", EVP_PKEY_get_bits(key.get()),
                                " bits; Entra ID needs at least ", kMinRsaBits));
  }
  std::optional<absl::Time> not_before = ToTime(X509_get0_notBefore(cert.get()));
  std::optional<absl::Time> not_after = ToTime(X509_get0_notAfter(cert.get()));
  if (!not_before.has_value() || !not_after.has_value()) {
    return Invalid("the certificate's validity dates cannot be read");
  }
  const int der_size = i2d_X509(cert.get(), nullptr);
  if (der_size <= 0) return Invalid("the certificate cannot be encoded");
  std::string der(static_cast<size_t>(der_size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert.get(), &out) != der_size) return Invalid("the certificate cannot be encoded");
  const std::string sha1 = Digest(EVP_sha1(), der);
  const std::string sha256 = Digest(Sha256(), der);
  if (sha1.empty() || sha256.empty()) return Invalid("the certificate cannot be hashed");
  if (!options.new_jti) options.new_jti = RandomGuid;
  ERR_clear_error();  // PEM parsing may leave notes behind even when it succeeds.
  return std::unique_ptr<CertificateAssertion>(new CertificateAssertion(
      std::move(key), absl::AsciiStrToUpper(absl::BytesToHexString(sha1)), Base64UrlEncode(sha1),
      Base64UrlEncode(sha256), *not_before, *not_after, std::move(options)));
}

CertificateAssertion::CertificateAssertion(EvpPkeyPtr key, std::string thumbprint, std::string x5t,
                                           std::string x5t_s256, absl::Time not_before,
                                           absl::Time not_after,
                                           CertificateAssertionOptions options)
    : key_(std::move(key)),
      thumbprint_(std::move(thumbprint)),
      x5t_(std::move(x5t)),
      x5t_s256_(std::move(x5t_s256)),
      not_before_(not_before),
      not_after_(not_after),
      options_(std::move(options)) {}

absl::StatusOr<SecretString> CertificateAssertion::Assertion(const std::string& client_id,
                                                             const std::string& audience,
                                                             absl::Time now) {
  if (now >= not_after_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", Describe(),
                     " has expired: issue a new one, add it to the application's certificates "
                     "and update the Secret"));
  }
  if (now < not_before_) {
    return absl::FailedPreconditionError(absl::StrCat("the ", Describe(), " is not valid before ",
                                                      Rfc3339(not_before_), " (check the clock)"));
  }
  const auto key = std::make_pair(client_id, audience);
  absl::MutexLock lock(&mu_);
  auto it = signed_.find(key);
  if (it != signed_.end() && it->second.issued_at <= now &&
      now + options_.renew_before < it->second.expires_at) {
    return it->second.jwt;
  }
  absl::StatusOr<Signed> fresh = Sign(client_id, audience, now);
  if (!fresh.ok()) return fresh.status();
  for (auto old = signed_.begin(); old != signed_.end();) {
    old = old->second.expires_at <= now ? signed_.erase(old) : std::next(old);
  }
  if (signed_.size() >= kMaxCachedAssertions) signed_.clear();
  SecretString jwt = fresh->jwt;
  signed_[key] = *std::move(fresh);
  return jwt;
}

absl::StatusOr<CertificateAssertion::Signed> CertificateAssertion::Sign(
    const std::string& client_id, const std::string& audience, absl::Time now) const {
  const bool pss = options_.algorithm == AssertionAlgorithm::kPs256;
  nlohmann::json header = {{"alg", AssertionAlgorithmName(options_.algorithm)}, {"typ", "JWT"}};
  if (pss) {
    header["x5t#S256"] = x5t_s256_;
  } else {
    header["x5t"] = x5t_;
  }
  const int64_t issued = absl::ToUnixSeconds(now);
  const int64_t expires = issued + absl::ToInt64Seconds(options_.lifetime);
  const nlohmann::json payload = {
      {"aud", audience},           {"exp", expires}, {"iat", issued},   {"iss", client_id},
      {"jti", options_.new_jti()}, {"nbf", issued},  {"sub", client_id}};
  const std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  bool ok = ctx != nullptr &&
            EVP_DigestSignInit(ctx.get(), &pctx, Sha256(), nullptr, key_.get()) == 1 &&
            (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Sha256()) == 1 &&
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1));
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  ok = ok && EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) == 1;
  std::string signature(size, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                            data, input.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return absl::InternalError("signing the client assertion failed in OpenSSL");
  }
  signature.resize(size);
  Signed out;
  out.jwt = SecretString(absl::StrCat(input, ".", Base64UrlEncode(signature)));
  out.issued_at = absl::FromUnixSeconds(issued);
  out.expires_at = absl::FromUnixSeconds(expires);
  return out;
}

std::string CertificateAssertion::Describe() const {
  return absl::StrCat("certificate with thumbprint ", thumbprint_, " (x5t#S256 ", x5t_s256_,
                      ", expires ", Rfc3339(not_after_), ")");
}

}  // namespace tokend
