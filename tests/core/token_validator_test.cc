// TokenValidator over the real JwksCache, with a fake clock, a deterministic task runner and a
// scripted identity provider serving discovery and keys: nothing sleeps.
#include "service/core/token_validator.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/fake_task_runner.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::StatusIs;

constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kAudience[] = "https://api.securitycenter.microsoft.com";
constexpr char kKeysUrl[] = "https://login.microsoftonline.com/common/discovery/keys";

class TokenValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TokenValidatorOptions options;
    options.audiences = {kAudience};
    options.tenant_allowed = [](const std::string& tenant) { return tenant == kTenant; };
    options.clock_skew = absl::Minutes(5);
    absl::StatusOr<std::unique_ptr<TokenValidator>> validator =
        TokenValidator::Create(jwks_, clock_, options);
    ASSERT_TRUE(validator.ok());
    validator_ = *std::move(validator);
  }

  void ServeKeys() {
    http_.Push(200, absl::StrCat(R"({"issuer":"https://sts.windows.net/{tenantid}/","jwks_uri":")",
                                 kKeysUrl, R"("})"));
    http_.Push(200, testing::JwksJson({key_.Jwk()}));
  }

  std::string Token(const std::string& tid = kTenant, int64_t exp_offset = 3600,
                    const std::string& roles = R"(["Ti.ReadWrite"])") {
    int64_t now = absl::ToUnixSeconds(clock_.TimeNow());
    std::string payload =
        absl::StrCat(R"({"aud":")", kAudience, R"(","iss":"https://sts.windows.net/)", tid,
                     R"(/","tid":")", tid, R"(","ver":"1.0","appid":"app","roles":)", roles,
                     R"(,"iat":)", now, R"(,"nbf":)", now, R"(,"exp":)", now + exp_offset, "}");
    return key_.Sign(testing::SigningAlg::kRs256,
                     absl::StrCat(R"({"alg":"RS256","typ":"JWT","kid":")", key_.kid(), R"("})"),
                     payload);
  }

  // Runs a validation to its end and returns the answer.
  absl::StatusOr<ValidationResult> Validate(const std::string& token,
                                            std::vector<std::string> roles = {}) {
    std::optional<absl::StatusOr<ValidationResult>> answer;
    ValidationRequest request;
    request.token = token;
    request.required_roles = std::move(roles);
    validator_->Validate(request, [&](absl::StatusOr<ValidationResult> r) { answer = r; });
    runner_.RunUntilIdle();
    if (!answer.has_value()) return absl::InternalError("no answer");
    return *answer;
  }

  testing::FakeClock clock_;
  testing::FakeTaskRunner runner_{clock_};
  testing::FakeHttpClient http_;
  JwksCache jwks_{http_, clock_, runner_, "https://login.microsoftonline.com"};
  std::unique_ptr<TokenValidator> validator_;
  testing::TestKey key_ = testing::TestKey::Rsa(2048, "k1");
};

TEST_F(TokenValidatorTest, ValidTokenWithItsClaims) {
  ServeKeys();
  absl::StatusOr<ValidationResult> r = Validate("Bearer " + Token(), {"Ti.ReadWrite"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->valid()) << r->detail;
  ASSERT_NE(r->jwt, nullptr);
  EXPECT_EQ(r->jwt->tid, kTenant);
  EXPECT_THAT(r->jwt->roles, ElementsAre("Ti.ReadWrite"));
}

TEST_F(TokenValidatorTest, RepeatedTokenIsAnsweredFromMemoryButTimeIsStillChecked) {
  ServeKeys();
  std::string token = Token(kTenant, /*exp_offset=*/600);
  ASSERT_TRUE(Validate(token)->valid());
  EXPECT_EQ(validator_->verified_size(), 1u);
  size_t requests = http_.request_count();
  // Answered inline, without keys: the signature is not checked again.
  std::optional<absl::StatusOr<ValidationResult>> answer;
  ValidationRequest request;
  request.token = token;
  validator_->Validate(request, [&](absl::StatusOr<ValidationResult> r) { answer = r; });
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE((*answer)->valid());
  EXPECT_EQ(http_.request_count(), requests);
  // Past exp + skew the remembered token is expired all the same.
  clock_.Advance(absl::Minutes(16));
  absl::StatusOr<ValidationResult> late = Validate(token);
  EXPECT_EQ(late->failure, JwtFailure::kExpired);
  // Roles are checked per call too.
  clock_.Advance(-absl::Minutes(16));
  absl::StatusOr<ValidationResult> roles = Validate(token, {"Machine.Isolate"});
  EXPECT_EQ(roles->failure, JwtFailure::kMissingRoles);
  EXPECT_THAT(roles->missing_roles, ElementsAre("Machine.Isolate"));
}

TEST_F(TokenValidatorTest, TenantNotAllowedFetchesNothing) {
  absl::StatusOr<ValidationResult> r = Validate(Token("22222222-2222-2222-2222-222222222222"));
  EXPECT_EQ(r->failure, JwtFailure::kTenantNotAllowed);
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenValidatorTest, KeysUnavailableIsAFailureNotAnError) {
  http_.PushError(absl::UnavailableError("connection refused"));
  absl::StatusOr<ValidationResult> r = Validate(Token());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failure, JwtFailure::kKeysUnavailable);
  EXPECT_THAT(r->detail, HasSubstr("keys"));
}

TEST_F(TokenValidatorTest, TamperedTokenIsNotRemembered) {
  ServeKeys();
  std::string token = Token();
  token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Validate(token)->failure, JwtFailure::kBadSignature);
  EXPECT_EQ(validator_->verified_size(), 0u);
}

TEST_F(TokenValidatorTest, EmptyTokenIsARequestError) {
  EXPECT_THAT(Validate("Bearer "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token")));
}

TEST_F(TokenValidatorTest, WrongAudienceAndMalformed) {
  ServeKeys();
  ValidationRequest request;
  request.token = Token();
  request.audiences = {"api://other"};
  std::optional<absl::StatusOr<ValidationResult>> answer;
  validator_->Validate(request, [&](absl::StatusOr<ValidationResult> r) { answer = r; });
  runner_.RunUntilIdle();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ((*answer)->failure, JwtFailure::kWrongAudience);
  EXPECT_EQ(Validate("a.b")->failure, JwtFailure::kMalformed);
}

}  // namespace
}  // namespace tokend
