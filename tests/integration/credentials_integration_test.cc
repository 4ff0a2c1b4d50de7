// Credentials without a client secret, end to end: the real tokend binary signs in to the
// development identity provider with a certificate (client assertion) and with workload
// identity federation (a projected service-account token named by the AZURE_* variables), and
// follows a rotated certificate and a rotated token file.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::Process;
using testing::StatusIs;
using testing::TestCertificate;
using testing::TestKey;

constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kDefender[] = "https://api.securitycenter.microsoft.com";
constexpr char kTestScope[] = "api://tokend-test/.default";
constexpr char kIssuer[] = "https://oidc.cluster.example.test";
constexpr char kSubject[] = "system:serviceaccount:apps:example";

// The base64 lines of a PEM private key: none may ever reach tokend's log.
std::vector<std::string> KeyLines(const TestCertificate& certificate) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(certificate.private_key_pem, '\n')) {
    if (!line.empty() && !absl::StartsWith(line, "-----")) lines.emplace_back(line);
  }
  return lines;
}

class CredentialsTest : public ::testing::Test {
 protected:
  // Certificates and issuer keys for the whole suite: RSA key generation takes a moment.
  static void SetUpTestSuite() {
    first_ = new TestCertificate(testing::MakeCertificate());
    second_ = new TestCertificate(testing::MakeCertificate());
    issuer_key_ = new TestKey(TestKey::Rsa(2048, "sa-key-1"));
    next_issuer_key_ = new TestKey(TestKey::Rsa(2048, "sa-key-2"));
  }
  static void TearDownTestSuite() {
    delete first_;
    delete second_;
    delete issuer_key_;
    delete next_issuer_key_;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<devidp::IdpServer>> idp =
        devidp::IdpServer::Start(devidp::IdpConfig::Default(), devidp::IdpServerOptions());
    ASSERT_THAT(idp, IsOk());
    idp_ = *std::move(idp);
    std::string pattern = "/tmp/tokend-cred.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/tokend.sock";
    std::filesystem::create_directories(dir_ + "/secrets");
  }
  void TearDown() override {
    if (tokend_ != nullptr) {
      const std::string log = tokend_->Stderr();
      EXPECT_THAT(log, Not(HasSubstr("PRIVATE KEY")));
      for (const TestCertificate* certificate : {first_, second_}) {
        for (const std::string& line : KeyLines(*certificate)) {
          EXPECT_FALSE(absl::StrContains(log, line)) << "a private key reached the log";
        }
      }
      for (const std::string& token : federated_tokens_) {
        EXPECT_FALSE(absl::StrContains(log, token)) << "a federated token reached the log";
      }
      tokend_.reset();
    }
    idp_->Stop();
    std::filesystem::remove_all(dir_);
  }

  static testing::SecretFiles CertificateFiles(const TestCertificate& certificate) {
    return {{"tenant-id", std::string(kTenant) + "\n"},
            {"client-id", std::string(kClientId) + "\n"},
            {"client-certificate", certificate.Pem()}};
  }

  void StartTokend(const std::vector<std::string>& extra = {},
                   const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = {TOKEND_BIN, "--secrets-dir=" + dir_ + "/secrets",
                                     "--listen=unix://" + socket_, "--shutdown-grace=10s"};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(args, dir_, env);
    ASSERT_THAT(p, IsOk());
    tokend_ = *std::move(p);
    ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(20)))
        << tokend_->Stderr();
    absl::StatusOr<std::unique_ptr<TokenClient>> client =
        TokenClient::Create("unix://" + socket_, ClientOptions{absl::Seconds(30)});
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
  }
  void StartTokendWithCertificates() { StartTokend({"--authority-host=" + idp_->listening_url()}); }

  static v1::GetTokenRequest Resource(const std::string& credential = "") {
    v1::GetTokenRequest r;
    r.set_resource(kDefender);
    r.set_credential(credential);
    return r;
  }
  static v1::GetTokenRequest Scope(const std::string& credential = "") {
    v1::GetTokenRequest r;
    r.add_scopes(kTestScope);
    r.set_credential(credential);
    return r;
  }

  // The claims of an access token (not verified).
  static nlohmann::json Claims(const v1::GetTokenResponse& token) {
    return testing::DecodeJwt(token.access_token()).payload;
  }

  // A projected service-account token for kSubject, valid for an hour, signed by `key`.
  std::string ServiceAccountToken(const TestKey& key, const std::string& subject = kSubject) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    std::string token = key.Sign(
        testing::SigningAlg::kRs256, absl::StrCat(R"({"alg":"RS256","kid":")", key.kid(), R"("})"),
        nlohmann::json({{"aud", {"api://AzureADTokenExchange"}},
                        {"iss", kIssuer},
                        {"sub", subject},
                        {"jti", absl::StrCat("jti-", federated_tokens_.size())},
                        {"iat", now - 5},
                        {"nbf", now - 5},
                        {"exp", now + 3600}})
            .dump());
    federated_tokens_.push_back(token);
    return token;
  }

  // Trusts kIssuer with `key` and gives the app a federated credential for kSubject.
  void SetUpFederation(const TestKey& key) {
    ASSERT_THAT(idp_->directory().SetFederatedIssuer({kIssuer, testing::JwksJson({key.Jwk()})}),
                IsOk());
    ASSERT_THAT(idp_->directory().AddFederatedCredential(kClientId, {kIssuer, kSubject}), IsOk());
  }
  std::string TokenFolder() const { return dir_ + "/azure-identity-token"; }
  std::string TokenFile() const { return TokenFolder() + "/azure-identity-token"; }
  // The variables the azure-workload-identity webhook sets, with the authority's trailing slash.
  std::vector<std::string> WebhookVariables() const {
    return {absl::StrCat("AZURE_CLIENT_ID=", kClientId), absl::StrCat("AZURE_TENANT_ID=", kTenant),
            absl::StrCat("AZURE_FEDERATED_TOKEN_FILE=", TokenFile()),
            absl::StrCat("AZURE_AUTHORITY_HOST=", idp_->listening_url(), "/")};
  }

  int64_t TokenRequests() { return idp_->counters().ToJson()["token_requests"].get<int64_t>(); }

  static TestCertificate* first_;
  static TestCertificate* second_;
  static TestKey* issuer_key_;
  static TestKey* next_issuer_key_;
  std::unique_ptr<devidp::IdpServer> idp_;
  std::string dir_, socket_;
  std::vector<std::string> federated_tokens_;
  std::unique_ptr<Process> tokend_;
  std::unique_ptr<TokenClient> client_;
};

TestCertificate* CredentialsTest::first_ = nullptr;
TestCertificate* CredentialsTest::second_ = nullptr;
TestKey* CredentialsTest::issuer_key_ = nullptr;
TestKey* CredentialsTest::next_issuer_key_ = nullptr;

TEST_F(CredentialsTest, CertificateCredentialGetsTokensWithPs256AndRs256) {
  ASSERT_THAT(idp_->directory().AddCertificate(kClientId, first_->certificate_pem), IsOk());
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", CertificateFiles(*first_)), IsOk());
  testing::SecretFiles legacy = CertificateFiles(*first_);
  legacy["assertion-algorithm"] = "RS256\n";
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde-legacy", legacy), IsOk());
  StartTokendWithCertificates();

  absl::StatusOr<v1::GetTokenResponse> v1_token = client_->GetToken(Resource("mde"));
  ASSERT_THAT(v1_token, IsOk());
  EXPECT_EQ(v1_token->tenant_id(), kTenant);
  EXPECT_THAT(v1_token->roles(),
              ElementsAre("AdvancedQuery.Read.All", "Ti.ReadWrite", "Event.Write"));
  EXPECT_EQ(Claims(*v1_token).value("appidacr", ""), "2");  // Signed in with a certificate.
  absl::StatusOr<v1::GetTokenResponse> v2_token = client_->GetToken(Scope("mde"));
  ASSERT_THAT(v2_token, IsOk());
  EXPECT_EQ(Claims(*v2_token).value("azpacr", ""), "2");
  absl::StatusOr<v1::GetTokenResponse> legacy_token = client_->GetToken(Resource("mde-legacy"));
  ASSERT_THAT(legacy_token, IsOk());
  EXPECT_EQ(Claims(*legacy_token).value("appidacr", ""), "2");
  EXPECT_EQ(TokenRequests(), 3);
  EXPECT_THAT(client_->Health(), testing::IsOkAndHolds(HealthStatus::kServing));
}

TEST_F(CredentialsTest, WrongCertificateIsFailedPreconditionWithTheAadstsCode) {
  // first_ is not registered on the application.
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", CertificateFiles(*first_)), IsOk());
  StartTokendWithCertificates();
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS700027")));
  EXPECT_EQ(ErrorDetailsOf(token.status()).reason, "AADSTS700027");
  EXPECT_EQ(ErrorDetailsOf(token.status()).error, "invalid_client");
  // The message says which certificate was presented, to compare with the app registration.
  EXPECT_THAT(std::string(token.status().message()),
              HasSubstr(absl::StrCat("x5t#S256 ", testing::X5tS256(*first_))));
  testing::RunResult r = testing::Run(
      {TOKENCTL_BIN, "--addr=unix://" + socket_, "get-token", "--resource", kDefender}, dir_);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["reason"], "AADSTS700027");
  EXPECT_EQ(TokenRequests(), 1);  // The rejection is remembered.
}

TEST_F(CredentialsTest, RotatedCertificateIsPickedUp) {
  ASSERT_THAT(idp_->directory().AddCertificate(kClientId, first_->certificate_pem), IsOk());
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", CertificateFiles(*first_)), IsOk());
  StartTokendWithCertificates();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());

  // The new certificate is added to the application, then the Secret is updated (the kubelet's
  // ..data swap), then the old certificate is removed from the application.
  absl::StatusOr<std::string> second_thumbprint =
      idp_->directory().AddCertificate(kClientId, second_->certificate_pem);
  ASSERT_THAT(second_thumbprint, IsOk());
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/mde", CertificateFiles(*second_)),
              IsOk());
  absl::StatusOr<std::string> target = testing::DataTarget(dir_ + "/secrets/mde");
  ASSERT_THAT(target, IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr(*target, absl::Seconds(10))) << "rotation not noticed";
  ASSERT_THAT(idp_->directory().RemoveCertificate(kClientId, testing::X5tS256(*first_)), IsOk());

  v1::GetTokenRequest fresh = Resource();
  fresh.set_force_refresh(true);
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(fresh);
  ASSERT_THAT(token, IsOk());
  EXPECT_FALSE(token->from_cache());
  fresh = Scope();  // A key never fetched before: signed with the new certificate as well.
  EXPECT_THAT(client_->GetToken(fresh), IsOk());
}

TEST_F(CredentialsTest, WorkloadIdentityFollowsTheRotatedTokenFile) {
  SetUpFederation(*issuer_key_);
  ASSERT_THAT(testing::WriteSecretVolume(
                  TokenFolder(), {{"azure-identity-token", ServiceAccountToken(*issuer_key_)}}),
              IsOk());
  // No --authority-host: AZURE_AUTHORITY_HOST (with its trailing slash) must be used, or the
  // request would go to login.microsoftonline.com.
  StartTokend({}, WebhookVariables());
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"credential\":\"workload-identity\""));

  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());  // The only one.
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->tenant_id(), kTenant);
  EXPECT_EQ(Claims(*token).value("appidacr", ""), "2");
  absl::StatusOr<v1::GetTokenResponse> by_name = client_->GetToken(Scope("workload-identity"));
  ASSERT_THAT(by_name, IsOk());
  EXPECT_THAT(by_name->roles(), ElementsAre("Test.Read"));

  // The kubelet rotates the projected token (here signed by the issuer's next key), and the
  // issuer retires its old key: only the new file can sign in now.
  ASSERT_THAT(
      testing::UpdateSecretVolume(
          TokenFolder(), {{"azure-identity-token", ServiceAccountToken(*next_issuer_key_)}}),
      IsOk());
  ASSERT_THAT(
      idp_->directory().SetFederatedIssuer({kIssuer, testing::JwksJson({next_issuer_key_->Jwk()})}),
      IsOk());
  v1::GetTokenRequest fresh = Resource();
  fresh.set_force_refresh(true);
  absl::StatusOr<v1::GetTokenResponse> renewed = client_->GetToken(fresh);
  ASSERT_THAT(renewed, IsOk());
  EXPECT_FALSE(renewed->from_cache());
  EXPECT_NE(renewed->access_token(), token->access_token());
  EXPECT_THAT(client_->Health(), testing::IsOkAndHolds(HealthStatus::kServing));
}

TEST_F(CredentialsTest, WorkloadIdentityWithoutAMatchingFederatedCredentialExplainsAadsts70021) {
  SetUpFederation(*issuer_key_);
  ASSERT_THAT(
      testing::WriteSecretVolume(
          TokenFolder(), {{"azure-identity-token",
                           ServiceAccountToken(*issuer_key_, "system:serviceaccount:apps:other")}}),
      IsOk());
  StartTokend({}, WebhookVariables());
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS70021")));
  EXPECT_EQ(ErrorDetailsOf(token.status()).reason, "AADSTS70021");
  const std::string message(token.status().message());
  EXPECT_THAT(message, HasSubstr("no federated identity credential of the application matches"));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("federated token file ", TokenFile())));
}

}  // namespace
}  // namespace tokend
