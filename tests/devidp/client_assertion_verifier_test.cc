#include "tests/devidp/client_assertion_verifier.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/directory.h"
#include "tests/devidp/guid.h"
#include "tests/devidp/idp_config.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace devidp {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::tokend::testing::IsOk;
using ::tokend::testing::SigningAlg;
using ::tokend::testing::TestCertificate;
using ::tokend::testing::TestKey;

constexpr char kBase[] = "http://127.0.0.1:4567";
constexpr char kIssuer[] = "https://oidc.cluster.example.test";
constexpr char kSubject[] = "system:serviceaccount:apps:example";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string V2Endpoint(const std::string& tenant = kDefaultTenantId) {
  return absl::StrCat(kBase, "/", tenant, "/oauth2/v2.0/token");
}

class ClientAssertionVerifierTest : public ::testing::Test {
 protected:
  // Certificates and keys for the whole suite: RSA key generation takes a moment.
  static void SetUpTestSuite() {
    registered_ = new TestCertificate(testing::MakeCertificate());
    unregistered_ = new TestCertificate(testing::MakeCertificate());
    issuer_key_ = new TestKey(TestKey::Rsa(2048, "k1"));
    impostor_key_ = new TestKey(TestKey::Rsa(2048, "k1"));
  }
  static void TearDownTestSuite() {
    delete registered_;
    delete unregistered_;
    delete issuer_key_;
    delete impostor_key_;
  }

  void SetUp() override {
    ASSERT_THAT(directory_.AddCertificate(kDefaultClientId, registered_->certificate_pem), IsOk());
    ASSERT_THAT(directory_.SetFederatedIssuer({kIssuer, testing::JwksJson({issuer_key_->Jwk()})}),
                IsOk());
    ASSERT_THAT(directory_.AddFederatedCredential(kDefaultClientId, {kIssuer, kSubject}), IsOk());
  }

  // The claims of a good certificate assertion at kNow.
  static json CertificateClaims() {
    const int64_t now = absl::ToUnixSeconds(kNow);
    return {{"aud", V2Endpoint()},
            {"iss", kDefaultClientId},
            {"sub", kDefaultClientId},
            {"jti", RandomGuid()},
            {"nbf", now},
            {"iat", now},
            {"exp", now + 600}};
  }
  static std::string CertificateAssertion(const json& claims,
                                          const TestCertificate& signer = *registered_,
                                          const TestCertificate& named = *registered_,
                                          SigningAlg alg = SigningAlg::kPs256) {
    json header = {{"alg", alg == SigningAlg::kPs256 ? "PS256" : "RS256"}, {"typ", "JWT"}};
    if (alg == SigningAlg::kPs256) {
      header["x5t#S256"] = testing::X5tS256(named);
    } else {
      header["x5t"] = testing::X5t(named);
    }
    return testing::SignWithCertificate(signer, alg, header.dump(), claims.dump());
  }

  // The claims of a projected service-account token valid at kNow.
  static json FederatedClaims() {
    const int64_t now = absl::ToUnixSeconds(kNow);
    return {{"aud", {kTokenExchangeAudience}},
            {"iss", kIssuer},
            {"sub", kSubject},
            {"jti", RandomGuid()},
            {"nbf", now - 60},
            {"iat", now - 60},
            {"exp", now + 3600}};
  }
  static std::string FederatedToken(const json& claims, const TestKey& key = *issuer_key_) {
    return key.Sign(SigningAlg::kRs256, R"({"alg":"RS256","kid":"k1"})", claims.dump());
  }

  absl::optional<EntraError> Verify(const std::string& assertion, absl::Time now = kNow,
                                    const std::string& type = kJwtBearerAssertionType) {
    return verifier_.Verify(type, assertion, kDefaultClientId,
                            *directory_.FindTenant(kDefaultTenantId), {kBase}, now);
  }

  static TestCertificate* registered_;
  static TestCertificate* unregistered_;
  static TestKey* issuer_key_;
  static TestKey* impostor_key_;
  Directory directory_{IdpConfig::Default()};
  ClientAssertionVerifier verifier_{directory_};
};

TestCertificate* ClientAssertionVerifierTest::registered_ = nullptr;
TestCertificate* ClientAssertionVerifierTest::unregistered_ = nullptr;
TestKey* ClientAssertionVerifierTest::issuer_key_ = nullptr;
TestKey* ClientAssertionVerifierTest::impostor_key_ = nullptr;

// The AADSTS code of `error`, or 0 for none (so failures print a number, never an assertion).
int Code(const absl::optional<EntraError>& error) { return error.has_value() ? error->code : 0; }

TEST_F(ClientAssertionVerifierTest, GoodCertificateAssertionsPass) {
  EXPECT_EQ(Code(Verify(CertificateAssertion(CertificateClaims()))), 0);
  EXPECT_EQ(Code(Verify(CertificateAssertion(CertificateClaims(), *registered_, *registered_,
                                             SigningAlg::kRs256))),
            0)
      << "RS256 with x5t";
  json v1 = CertificateClaims();
  v1["aud"] = absl::StrCat(kBase, "/", kDefaultTenantId, "/oauth2/token");
  EXPECT_EQ(Code(Verify(CertificateAssertion(v1))), 0) << "v1 endpoint";
  json domain = CertificateClaims();
  domain["aud"] = V2Endpoint(kDefaultTenantDomain);
  EXPECT_EQ(Code(Verify(CertificateAssertion(domain))), 0) << "tenant by domain";
}

TEST_F(ClientAssertionVerifierTest, UnregisteredCertificateIsKeyNotFound) {
  absl::optional<EntraError> error =
      Verify(CertificateAssertion(CertificateClaims(), *unregistered_, *unregistered_));
  ASSERT_EQ(Code(error), 700027);
  EXPECT_EQ(error->http_status, 401);
  EXPECT_EQ(error->error, "invalid_client");
  EXPECT_THAT(error->message, HasSubstr(testing::X5tS256(*unregistered_)));
}

TEST_F(ClientAssertionVerifierTest, RegisteredThumbprintSignedByAnotherKeyIsBadSignature) {
  absl::optional<EntraError> error =
      Verify(CertificateAssertion(CertificateClaims(), *unregistered_, *registered_));
  ASSERT_EQ(Code(error), 700027);
  EXPECT_THAT(error->message, HasSubstr("signature does not match"));
}

TEST_F(ClientAssertionVerifierTest, WrongAudienceIsRefused) {
  for (const std::string& aud :
       {V2Endpoint(kOtherTenantId), V2Endpoint("common"),
        absl::StrCat("https://login.microsoftonline.com/", kDefaultTenantId, "/oauth2/v2.0/token"),
        absl::StrCat(kBase, "/", kDefaultTenantId, "/oauth2/v2.0/authorize"), std::string(kBase)}) {
    SCOPED_TRACE(aud);
    json claims = CertificateClaims();
    claims["aud"] = aud;
    EXPECT_EQ(Code(Verify(CertificateAssertion(claims))), 700023);
  }
  json array = CertificateClaims();
  array["aud"] = {V2Endpoint()};
  EXPECT_EQ(Code(Verify(CertificateAssertion(array))), 50027) << "aud must be a string";
}

TEST_F(ClientAssertionVerifierTest, SubjectMustBeTheClientId) {
  json claims = CertificateClaims();
  claims["sub"] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
  EXPECT_EQ(Code(Verify(CertificateAssertion(claims))), 700021);
}

TEST_F(ClientAssertionVerifierTest, LifetimeIsCheckedWithFiveMinutesOfSkew) {
  const std::string assertion = CertificateAssertion(CertificateClaims());  // [kNow, kNow + 10m)
  EXPECT_EQ(Code(Verify(assertion, kNow + absl::Minutes(15) - absl::Seconds(1))), 0);
  absl::optional<EntraError> expired = Verify(assertion, kNow + absl::Minutes(15));
  ASSERT_EQ(Code(expired), 700024);
  EXPECT_THAT(expired->message, HasSubstr("not within its valid time range"));
  EXPECT_EQ(Code(Verify(assertion, kNow - absl::Minutes(5))), 0);
  EXPECT_EQ(Code(Verify(assertion, kNow - absl::Minutes(5) - absl::Seconds(1))), 700024)
      << "not yet valid";
  json no_exp = CertificateClaims();
  no_exp.erase("exp");
  EXPECT_EQ(Code(Verify(CertificateAssertion(no_exp))), 50027);
}

TEST_F(ClientAssertionVerifierTest, ReplayedJtiIsRefusedButTheSameAssertionMayComeBack) {
  json claims = CertificateClaims();
  const std::string first = CertificateAssertion(claims);
  EXPECT_EQ(Code(Verify(first)), 0);
  EXPECT_EQ(Code(Verify(first, kNow + absl::Minutes(1))), 0) << "the same assertion again";
  claims["iat"] = claims["iat"].get<int64_t>() + 1;  // Another assertion, the same jti.
  const std::string replay = CertificateAssertion(claims);
  absl::optional<EntraError> error = Verify(replay, kNow + absl::Minutes(1));
  ASSERT_EQ(Code(error), 50013);
  EXPECT_THAT(error->message, HasSubstr("jti has already been used"));
  // Once the first one can no longer be valid, its jti is forgotten.
  claims["nbf"] = absl::ToUnixSeconds(kNow + absl::Minutes(20));
  claims["exp"] = absl::ToUnixSeconds(kNow + absl::Minutes(30));
  EXPECT_EQ(Code(Verify(CertificateAssertion(claims), kNow + absl::Minutes(20))), 0);
}

TEST_F(ClientAssertionVerifierTest, CertificateAssertionNeedsAJti) {
  json claims = CertificateClaims();
  claims.erase("jti");
  EXPECT_EQ(Code(Verify(CertificateAssertion(claims))), 50027);
}

TEST_F(ClientAssertionVerifierTest, MalformedAssertionsAndTypes) {
  EXPECT_EQ(Code(Verify("not.a-jwt")), 50027);
  EXPECT_EQ(Code(Verify("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")), 50027);
  EXPECT_EQ(Code(Verify(CertificateAssertion(CertificateClaims()), kNow, "urn:other")), 50027);
}

TEST_F(ClientAssertionVerifierTest, RemovedCertificateNoLongerWorks) {
  ASSERT_THAT(directory_.RemoveCertificate(kDefaultClientId, testing::X5tS256(*registered_)),
              IsOk());
  EXPECT_EQ(Code(Verify(CertificateAssertion(CertificateClaims()))), 700027);
}

TEST_F(ClientAssertionVerifierTest, GoodFederatedTokenPassesAgainAndAgain) {
  const std::string token = FederatedToken(FederatedClaims());
  EXPECT_EQ(Code(Verify(token)), 0);
  EXPECT_EQ(Code(Verify(token, kNow + absl::Minutes(30))), 0) << "presented for as long as valid";
  json without_jti = FederatedClaims();
  without_jti.erase("jti");
  EXPECT_EQ(Code(Verify(FederatedToken(without_jti))), 0) << "older Kubernetes tokens";
}

TEST_F(ClientAssertionVerifierTest, FederatedTokenWithoutAMatchingCredentialIs70021) {
  struct Case {
    const char* name;
    const char* claim;
    json value;
  };
  const Case cases[] = {
      {"unknown issuer", "iss", "https://oidc.other.example.test"},
      {"other subject", "sub", "system:serviceaccount:apps:other"},
      {"other audience", "aud", json::array({"api://other"})},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    json claims = FederatedClaims();
    claims[test.claim] = test.value;
    absl::optional<EntraError> error = Verify(FederatedToken(claims));
    ASSERT_EQ(Code(error), 70021);
    EXPECT_EQ(error->http_status, 400);
    EXPECT_THAT(error->message, HasSubstr("No matching federated identity record"));
  }
}

TEST_F(ClientAssertionVerifierTest, FederatedTokenWithABadSignatureOrTimeIsRefused) {
  EXPECT_EQ(Code(Verify(FederatedToken(FederatedClaims(), *impostor_key_))), 700027);
  const std::string unknown_kid = issuer_key_->Sign(
      SigningAlg::kRs256, R"({"alg":"RS256","kid":"k2"})", FederatedClaims().dump());
  EXPECT_EQ(Code(Verify(unknown_kid)), 700027);
  json expired = FederatedClaims();
  expired["exp"] = absl::ToUnixSeconds(kNow - absl::Minutes(6));
  EXPECT_EQ(Code(Verify(FederatedToken(expired))), 700024);
}

TEST_F(ClientAssertionVerifierTest, IssuerKeyRolloverReplacesTheKeys) {
  ASSERT_THAT(directory_.SetFederatedIssuer({kIssuer, testing::JwksJson({impostor_key_->Jwk()})}),
              IsOk());
  EXPECT_EQ(Code(Verify(FederatedToken(FederatedClaims()))), 700027);
  EXPECT_EQ(Code(Verify(FederatedToken(FederatedClaims(), *impostor_key_))), 0);
}

}  // namespace
}  // namespace devidp
}  // namespace tokend
