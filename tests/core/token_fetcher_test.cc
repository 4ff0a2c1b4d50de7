#include "service/core/token_fetcher.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/certificate_assertion.h"
#include "service/core/error_details.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kTenant[] = "contoso.onmicrosoft.com";
constexpr char kAuthority[] = "https://login.microsoftonline.com";
constexpr char kV2Endpoint[] =
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
constexpr char kTokenFile[] = "/var/run/secrets/azure/tokens/azure-identity-token";
const absl::Time kStart = absl::FromUnixSeconds(1800000000);

const TokenTarget kScope{{"https://api.securitycenter.microsoft.com/.default"}, ""};
const TokenTarget kResource{{}, "https://api.securitycenter.microsoft.com"};

// Hands out "federated-token-1", "federated-token-2", ... (or an error), recording each call.
class ScriptedAssertionSource : public ClientAssertionSource {
 public:
  absl::StatusOr<SecretString> Assertion(const std::string& client_id, const std::string& audience,
                                         absl::Time now) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back({client_id, audience, now});
    if (!error_.ok()) return error_;
    return SecretString(absl::StrCat("federated-token-", calls_.size()));
  }
  std::string Describe() const override {
    return absl::StrCat("federated token file ", kTokenFile);
  }

  struct Call {
    std::string client_id, audience;
    absl::Time now;
  };
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  void Fail(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }

 private:
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

std::string TokenReply() {
  return R"({"token_type":"Bearer","expires_in":3599,"access_token":"opaque-token"})";
}

std::string EntraError(int code, const std::string& error) {
  return absl::StrCat(R"({"error":")", error, R"(","error_description":"AADSTS)", code,
                      R"(: text.","error_codes":[)", code,
                      R"(],"trace_id":"0d9d6b1c-1c36-4f6a-9c71-7c1b1f1a0000",)",
                      R"("correlation_id":"5f1c2a3b-0000-4c0e-8f2e-111111111111"})");
}

// The value of form field `name` in `body` (undecoded), or "" if absent.
std::string FormField(absl::string_view body, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    if (absl::ConsumePrefix(&pair, absl::StrCat(name, "="))) return std::string(pair);
  }
  return "";
}

class TokenFetcherTest : public ::testing::Test {
 protected:
  std::shared_ptr<Credential> CertificateCredential() {
    auto credential = std::make_shared<Credential>();
    credential->name = "mde-cert";
    credential->tenant_id = kTenant;
    credential->client_id = kClientId;
    credential->kind = CredentialKind::kCertificate;
    absl::StatusOr<std::unique_ptr<CertificateAssertion>> signer =
        CertificateAssertion::Create(SecretString(testing::FixedCertificate().Pem()));
    EXPECT_THAT(signer, IsOk());
    if (signer.ok()) credential->assertion = *std::move(signer);
    credential->version = "1";
    return credential;
  }
  std::shared_ptr<Credential> WorkloadIdentityCredential() {
    auto credential = std::make_shared<Credential>();
    credential->name = "workload-identity";
    credential->tenant_id = kTenant;
    credential->client_id = kClientId;
    credential->kind = CredentialKind::kWorkloadIdentity;
    credential->assertion = source_;
    credential->version = "env-1";
    return credential;
  }
  // The header and payload of the client_assertion of the `i`th request.
  testing::JwtParts SentAssertion(size_t i) {
    std::vector<HttpRequest> requests = http_.requests();
    EXPECT_LT(i, requests.size());
    if (i >= requests.size()) return testing::JwtParts();
    return testing::DecodeJwt(FormField(requests[i].body.Reveal(), "client_assertion"));
  }

  testing::FakeClock clock_{kStart};
  testing::FakeHttpClient http_;
  TokenFetcher fetcher_{http_, clock_, kAuthority};
  std::shared_ptr<ScriptedAssertionSource> source_ = std::make_shared<ScriptedAssertionSource>();
};

TEST_F(TokenFetcherTest, CertificateCredentialSendsASignedAssertionAndNoSecret) {
  http_.Push(200, TokenReply());
  ASSERT_THAT(fetcher_.Fetch(*CertificateCredential(), kTenant, kScope), IsOk());
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, kV2Endpoint);
  const std::string body(requests[0].body.Reveal());
  EXPECT_EQ(FormField(body, "client_assertion_type"),
            "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer");
  EXPECT_EQ(FormField(body, "client_id"), kClientId);
  EXPECT_FALSE(absl::StrContains(body, "client_secret"));
  testing::JwtParts assertion = SentAssertion(0);
  EXPECT_EQ(assertion.header.value("alg", ""), "PS256");
  EXPECT_EQ(assertion.header.value("x5t#S256", ""), testing::kFixedCertificateX5tS256);
  EXPECT_EQ(assertion.payload.value("aud", ""), kV2Endpoint);
  EXPECT_EQ(assertion.payload.value("iss", ""), kClientId);
  EXPECT_EQ(assertion.payload.value("nbf", int64_t{0}), absl::ToUnixSeconds(kStart));
}

TEST_F(TokenFetcherTest, V1RequestsAssertTheV1Endpoint) {
  http_.Push(200, TokenReply());
  ASSERT_THAT(fetcher_.Fetch(*CertificateCredential(), kTenant, kResource), IsOk());
  EXPECT_EQ(SentAssertion(0).payload.value("aud", ""),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token");
}

TEST_F(TokenFetcherTest, AssertionIsReusedAcrossRequestsThenRenewed) {
  std::shared_ptr<Credential> credential = CertificateCredential();
  for (int i = 0; i < 3; ++i) http_.Push(200, TokenReply());
  ASSERT_THAT(fetcher_.Fetch(*credential, kTenant, kScope), IsOk());
  clock_.Advance(absl::Minutes(7));
  ASSERT_THAT(fetcher_.Fetch(*credential, kTenant, kScope), IsOk());
  clock_.Advance(absl::Minutes(1));  // 8 minutes: 2 minutes of the first assertion left.
  ASSERT_THAT(fetcher_.Fetch(*credential, kTenant, kScope), IsOk());
  const std::string jti0 = SentAssertion(0).payload.value("jti", "");
  EXPECT_EQ(SentAssertion(1).payload.value("jti", ""), jti0);
  EXPECT_NE(SentAssertion(2).payload.value("jti", ""), jti0);
  EXPECT_EQ(SentAssertion(2).payload.value("nbf", int64_t{0}),
            absl::ToUnixSeconds(kStart + absl::Minutes(8)));
}

TEST_F(TokenFetcherTest, RegionSendsToTheRegionalHostButAssertsTheGlobalEndpoint) {
  TokenFetcher regional(http_, clock_, kAuthority, absl::Seconds(10), "westus2");
  http_.Push(200, TokenReply());
  ASSERT_THAT(regional.Fetch(*CertificateCredential(), kTenant, kScope), IsOk());
  ASSERT_EQ(http_.request_count(), 1u);
  EXPECT_EQ(http_.requests()[0].url,
            "https://westus2.login.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(SentAssertion(0).payload.value("aud", ""), kV2Endpoint);
}

TEST_F(TokenFetcherTest, RegionLeavesACredentialsOwnLocalAuthorityAlone) {
  TokenFetcher regional(http_, clock_, kAuthority, absl::Seconds(10), "westus2");
  std::shared_ptr<Credential> credential = CertificateCredential();
  credential->authority_host = "http://127.0.0.1:8080";
  http_.Push(200, TokenReply());
  ASSERT_THAT(regional.Fetch(*credential, kTenant, kScope), IsOk());
  EXPECT_EQ(http_.requests()[0].url,
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/token");
}

TEST_F(TokenFetcherTest, ExpiredCertificateFailsWithoutARequest) {
  clock_.SetWall(absl::FromCivil(absl::CivilDay(2036, 2, 1), absl::UTCTimeZone()));
  EXPECT_THAT(fetcher_.Fetch(*CertificateCredential(), kTenant, kScope),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("credential \"mde-cert\": the certificate with thumbprint "
                                 "D355CC89C38D807871AFADAF9D4ACEB6214CEF75")));
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenFetcherTest, RejectedCertificateNamesItsThumbprint) {
  http_.Push(401, EntraError(700027, "invalid_client"));
  absl::StatusOr<AccessToken> token = fetcher_.Fetch(*CertificateCredential(), kTenant, kScope);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("AADSTS700027 (invalid_client): the client assertion's "
                                        "signature was not accepted")));
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr("client_assertion=\"certificate with thumbprint "
                        "D355CC89C38D807871AFADAF9D4ACEB6214CEF75 (x5t#S256 "
                        "pIhpRq4YQbnEl1-D_RaQsrFADzrYmSQEnzwXDkE6RQ4, expires "
                        "2036-01-01T00:00:00Z)\""));
  std::optional<ErrorDetails> details = GetErrorDetails(token.status());
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->reason, "AADSTS700027");
}

TEST_F(TokenFetcherTest, WorkloadIdentityAsksForTheTokenAtEveryRequest) {
  std::shared_ptr<Credential> credential = WorkloadIdentityCredential();
  http_.Push(200, TokenReply());
  http_.Push(200, TokenReply());
  ASSERT_THAT(fetcher_.Fetch(*credential, kTenant, kScope), IsOk());
  clock_.Advance(absl::Seconds(30));
  ASSERT_THAT(fetcher_.Fetch(*credential, kTenant, kResource), IsOk());
  std::vector<ScriptedAssertionSource::Call> calls = source_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].client_id, kClientId);
  EXPECT_EQ(calls[0].audience, kV2Endpoint);
  EXPECT_EQ(calls[0].now, kStart);
  EXPECT_EQ(calls[1].now, kStart + absl::Seconds(30));
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(FormField(requests[0].body.Reveal(), "client_assertion"), "federated-token-1");
  EXPECT_EQ(FormField(requests[1].body.Reveal(), "client_assertion"), "federated-token-2");
}

TEST_F(TokenFetcherTest, MissingTokenFileFailsNamingTheCredentialWithoutARequest) {
  source_->Fail(absl::FailedPreconditionError(
      absl::StrCat("AZURE_FEDERATED_TOKEN_FILE \"", kTokenFile, "\": does not exist")));
  EXPECT_THAT(fetcher_.Fetch(*WorkloadIdentityCredential(), kTenant, kScope),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("credential \"workload-identity\": "
                                              "AZURE_FEDERATED_TOKEN_FILE \"",
                                              kTokenFile, "\": does not exist"))));
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenFetcherTest, Aadsts70021ExplainsTheFederatedCredentialAndNamesTheTokenFile) {
  http_.Push(400, EntraError(70021, "invalid_request"));
  absl::StatusOr<AccessToken> token =
      fetcher_.Fetch(*WorkloadIdentityCredential(), kTenant, kScope);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS70021")));
  const std::string message(token.status().message());
  EXPECT_THAT(message, HasSubstr("no federated identity credential of the application matches"));
  EXPECT_THAT(message, HasSubstr("system:serviceaccount:<namespace>:<service account>"));
  EXPECT_THAT(message, HasSubstr("api://AzureADTokenExchange"));
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("client_assertion=\"federated token file ", kTokenFile)));
  EXPECT_THAT(message, Not(HasSubstr("federated-token-1")));
  std::optional<ErrorDetails> details = GetErrorDetails(token.status());
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(details->reason, "AADSTS70021");
}

TEST_F(TokenFetcherTest, Aadsts700024ExplainsTheTimeRange) {
  http_.Push(401, EntraError(700024, "invalid_client"));
  absl::StatusOr<AccessToken> token =
      fetcher_.Fetch(*WorkloadIdentityCredential(), kTenant, kScope);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("AADSTS700024 (invalid_client): the client assertion is "
                                        "not within its valid time range")));
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr("the federated (service-account) token has expired"));
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("clock"));
}

TEST_F(TokenFetcherTest, SecretRejectionsAreUnchanged) {
  Credential secret;
  secret.name = "mde";
  secret.tenant_id = kTenant;
  secret.client_id = kClientId;
  secret.client_secret = SecretString("not-a-real-secret");
  http_.Push(401, EntraError(7000215, "invalid_client"));
  absl::StatusOr<AccessToken> token = fetcher_.Fetch(secret, kTenant, kScope);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS7000215")));
  EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr("client_assertion")));
  EXPECT_EQ(FormField(http_.requests()[0].body.Reveal(), "client_secret"), "not-a-real-secret");
}

}  // namespace
}  // namespace tokend
