#include "service/core/certificate_assertion.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/openssl_ptr.h"
#include "service/core/base64url.h"
#include "service/core/identifiers.h"
#include "service/core/jwt.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kAudience[] =
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15, inside the validity.

std::unique_ptr<CertificateAssertion> Fixed(
    AssertionAlgorithm algorithm = AssertionAlgorithm::kPs256) {
  CertificateAssertionOptions options;
  options.algorithm = algorithm;
  absl::StatusOr<std::unique_ptr<CertificateAssertion>> signer =
      CertificateAssertion::Create(SecretString(testing::FixedCertificate().Pem()), options);
  EXPECT_THAT(signer, IsOk());
  return signer.ok() ? *std::move(signer) : nullptr;
}

// Returns true iff `jwt`'s signature verifies under the fixed certificate's public key with
// RS256 or PS256 (salt 32).
bool SignatureVerifies(const std::string& jwt, bool pss) {
  std::vector<std::string> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return false;
  const std::string input = parts[0] + "." + parts[1];
  std::optional<std::string> signature = Base64UrlDecode(parts[2]);
  const std::string& pem = testing::FixedCertificate().certificate_pem;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr || !signature.has_value()) return false;
  EvpPkeyPtr key(X509_get_pubkey(cert));
  X509_free(cert);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, Sha256(), nullptr, key.get()) != 1) return false;
  if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                          signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// The assertion's header and payload; fails the test (without printing the assertion) if it
// is not a JWT that tokend's own parser accepts.
testing::JwtParts Parse(const absl::StatusOr<SecretString>& assertion) {
  EXPECT_THAT(assertion, IsOk());
  if (!assertion.ok()) return testing::JwtParts();
  absl::StatusOr<Jwt> jwt = ParseJwt(assertion->Reveal());
  EXPECT_TRUE(jwt.ok()) << jwt.status().message();
  return testing::DecodeJwt(assertion->Reveal());
}

TEST(CertificateAssertionTest, ThumbprintsMatchTheOpensslCommandLine) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->x5t(), testing::kFixedCertificateX5t);
  EXPECT_EQ(signer->x5t_s256(), testing::kFixedCertificateX5tS256);
  EXPECT_EQ(signer->thumbprint(), testing::kFixedCertificateThumbprint);
  EXPECT_EQ(signer->not_before(), absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone()));
  EXPECT_EQ(signer->not_after(), absl::FromCivil(absl::CivilDay(2036, 1, 1), absl::UTCTimeZone()));
  EXPECT_EQ(signer->Describe(),
            "certificate with thumbprint D355CC89C38D807871AFADAF9D4ACEB6214CEF75 (x5t#S256 "
            "pIhpRq4YQbnEl1-D_RaQsrFADzrYmSQEnzwXDkE6RQ4, expires 2036-01-01T00:00:00Z)");
}

TEST(CertificateAssertionTest, KeyBeforeCertificateWorksToo) {
  const testing::TestCertificate& fixed = testing::FixedCertificate();
  absl::StatusOr<std::unique_ptr<CertificateAssertion>> signer =
      CertificateAssertion::Create(SecretString(fixed.private_key_pem + fixed.certificate_pem));
  ASSERT_THAT(signer, IsOk());
  EXPECT_EQ((*signer)->x5t_s256(), testing::kFixedCertificateX5tS256);
}

TEST(CertificateAssertionTest, Ps256AssertionHasTheDocumentedHeaderAndClaims) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<SecretString> assertion = signer->Assertion(kClientId, kAudience, kNow);
  testing::JwtParts jwt = Parse(assertion);
  EXPECT_EQ(jwt.header, nlohmann::json({{"alg", "PS256"},
                                        {"typ", "JWT"},
                                        {"x5t#S256", testing::kFixedCertificateX5tS256}}));
  const int64_t now = absl::ToUnixSeconds(kNow);
  EXPECT_TRUE(IsGuid(jwt.payload.value("jti", "")));
  jwt.payload.erase("jti");
  // `aud` is a string, not an array (Entra answers an array with AADSTS50027).
  EXPECT_EQ(jwt.payload, nlohmann::json({{"aud", kAudience},
                                         {"iss", kClientId},
                                         {"sub", kClientId},
                                         {"nbf", now},
                                         {"iat", now},
                                         {"exp", now + 600}}));
  ASSERT_THAT(assertion, IsOk());
  EXPECT_TRUE(SignatureVerifies(std::string(assertion->Reveal()), /*pss=*/true));
  EXPECT_FALSE(SignatureVerifies(std::string(assertion->Reveal()), /*pss=*/false));
}

TEST(CertificateAssertionTest, Rs256AssertionHasTheLegacyX5tHeader) {
  std::unique_ptr<CertificateAssertion> signer = Fixed(AssertionAlgorithm::kRs256);
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<SecretString> assertion = signer->Assertion(kClientId, kAudience, kNow);
  testing::JwtParts jwt = Parse(assertion);
  EXPECT_EQ(
      jwt.header,
      nlohmann::json({{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", testing::kFixedCertificateX5t}}));
  EXPECT_EQ(jwt.payload.value("iss", ""), kClientId);
  EXPECT_EQ(jwt.payload.value("exp", int64_t{0}) - jwt.payload.value("nbf", int64_t{0}), 600);
  ASSERT_THAT(assertion, IsOk());
  EXPECT_TRUE(SignatureVerifies(std::string(assertion->Reveal()), /*pss=*/false));
}

TEST(CertificateAssertionTest, AssertionIsReusedUntilTwoMinutesBeforeItExpires) {
  testing::FakeClock clock(kNow);
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<SecretString> first = signer->Assertion(kClientId, kAudience, clock.TimeNow());
  ASSERT_THAT(first, IsOk());
  clock.Advance(absl::Minutes(5));
  absl::StatusOr<SecretString> later = signer->Assertion(kClientId, kAudience, clock.TimeNow());
  ASSERT_THAT(later, IsOk());
  EXPECT_TRUE(later->Equals(*first)) << "signed anew after 5 minutes";
  clock.Advance(absl::Minutes(3) - absl::Seconds(1));  // 8 min - 1 s: 2 min + 1 s left.
  absl::StatusOr<SecretString> last = signer->Assertion(kClientId, kAudience, clock.TimeNow());
  ASSERT_THAT(last, IsOk());
  EXPECT_TRUE(last->Equals(*first)) << "signed anew with more than 2 minutes left";
  clock.Advance(absl::Seconds(1));  // Exactly 2 minutes left: renewed.
  absl::StatusOr<SecretString> renewed = signer->Assertion(kClientId, kAudience, clock.TimeNow());
  ASSERT_THAT(renewed, IsOk());
  EXPECT_FALSE(renewed->Equals(*first)) << "not renewed 2 minutes before expiry";
  testing::JwtParts old_jwt = Parse(first);
  testing::JwtParts new_jwt = Parse(renewed);
  EXPECT_NE(new_jwt.payload.value("jti", ""), old_jwt.payload.value("jti", ""));
  EXPECT_EQ(new_jwt.payload.value("nbf", int64_t{0}), absl::ToUnixSeconds(kNow + absl::Minutes(8)));
  EXPECT_EQ(new_jwt.payload.value("exp", int64_t{0}),
            absl::ToUnixSeconds(kNow + absl::Minutes(18)));
}

TEST(CertificateAssertionTest, EachAudienceAndClientHasItsOwnAssertion) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  const std::string v1 = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token";
  absl::StatusOr<SecretString> a = signer->Assertion(kClientId, kAudience, kNow);
  absl::StatusOr<SecretString> b = signer->Assertion(kClientId, v1, kNow);
  absl::StatusOr<SecretString> c =
      signer->Assertion("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", kAudience, kNow);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(a->Equals(*b));
  EXPECT_FALSE(a->Equals(*c));
  EXPECT_EQ(Parse(b).payload.value("aud", ""), v1);
  EXPECT_EQ(Parse(c).payload.value("iss", ""), "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb");
  // Each is still reused for its own pair.
  absl::StatusOr<SecretString> again = signer->Assertion(kClientId, v1, kNow + absl::Minutes(1));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->Equals(*b));
}

TEST(CertificateAssertionTest, ClockGoingBackSignsAnew) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<SecretString> a = signer->Assertion(kClientId, kAudience, kNow);
  absl::StatusOr<SecretString> b = signer->Assertion(kClientId, kAudience, kNow - absl::Minutes(1));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_FALSE(a->Equals(*b)) << "an assertion not valid yet was reused";
}

TEST(CertificateAssertionTest, ExpiredCertificateIsRefusedNamingItsThumbprint) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  EXPECT_THAT(signer->Assertion(kClientId, kAudience, signer->not_after() - absl::Seconds(1)),
              IsOk());
  EXPECT_THAT(signer->Assertion(kClientId, kAudience, signer->not_after()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("D355CC89C38D807871AFADAF9D4ACEB6214CEF75 (x5t#S256 "
                                 "pIhpRq4YQbnEl1-D_RaQsrFADzrYmSQEnzwXDkE6RQ4, expires "
                                 "2036-01-01T00:00:00Z) has expired")));
}

TEST(CertificateAssertionTest, CertificateNotYetValidIsRefused) {
  std::unique_ptr<CertificateAssertion> signer = Fixed();
  ASSERT_NE(signer, nullptr);
  EXPECT_THAT(signer->Assertion(kClientId, kAudience, signer->not_before() - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not valid before 2026-01-01T00:00:00Z")));
  EXPECT_THAT(signer->Assertion(kClientId, kAudience, signer->not_before()), IsOk());
}

TEST(CertificateAssertionTest, BadPemIsRefusedSayingWhy) {
  const testing::TestCertificate& fixed = testing::FixedCertificate();
  const absl::Time now = absl::Now();
  const testing::TestCertificate weak =
      testing::MakeCertificate(now - absl::Hours(1), now + absl::Hours(1), 1024);
  const testing::TestCertificate other = testing::MakeCertificate();
  const testing::TestCertificate ec = testing::MakeEcCertificate();
  struct Case {
    const char* name;
    std::string pem;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "is empty"},
      {"key only", fixed.private_key_pem, "has no PEM certificate"},
      {"certificate only", fixed.certificate_pem, "has no unencrypted PEM private key"},
      {"another key", fixed.certificate_pem + other.private_key_pem,
       "the private key does not match the certificate"},
      {"EC key", ec.Pem(), "the key must be RSA"},
      {"1024-bit RSA", weak.Pem(), "the RSA key has 1024 bits; Entra ID needs at least 2048"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    EXPECT_THAT(CertificateAssertion::Create(SecretString(test.pem)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(test.message)));
  }
}

TEST(CertificateAssertionTest, OptionsAreChecked) {
  CertificateAssertionOptions options;
  options.renew_before = options.lifetime;
  EXPECT_THAT(
      CertificateAssertion::Create(SecretString(testing::FixedCertificate().Pem()), options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lifetime")));
  options = CertificateAssertionOptions();
  options.lifetime = absl::Hours(2);
  EXPECT_THAT(
      CertificateAssertion::Create(SecretString(testing::FixedCertificate().Pem()), options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lifetime")));
}

TEST(CertificateAssertionTest, AlgorithmNames) {
  EXPECT_EQ(ParseAssertionAlgorithm("PS256"), AssertionAlgorithm::kPs256);
  EXPECT_EQ(ParseAssertionAlgorithm("RS256"), AssertionAlgorithm::kRs256);
  EXPECT_EQ(ParseAssertionAlgorithm("ps256"), std::nullopt);
  EXPECT_EQ(ParseAssertionAlgorithm("HS256"), std::nullopt);
  EXPECT_STREQ(AssertionAlgorithmName(AssertionAlgorithm::kPs256), "PS256");
  EXPECT_STREQ(AssertionAlgorithmName(AssertionAlgorithm::kRs256), "RS256");
}

}  // namespace
}  // namespace tokend
