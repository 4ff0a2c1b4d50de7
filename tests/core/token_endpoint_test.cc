#include "service/core/token_endpoint.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/base64url.h"
#include "service/core/error_details.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string FakeJwt(const std::string& payload) {
  return absl::StrCat(Base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})"), ".",
                      Base64UrlEncode(payload), ".c2ln");
}

Credential SecretCredential() {
  Credential c;
  c.name = "mde";
  c.tenant_id = "contoso.onmicrosoft.com";
  c.client_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  c.client_secret = SecretString("s3cr3t+/=&~");
  return c;
}

TEST(TokenEndpointTest, V2RequestUsesScopeAndTheTenantPath) {
  TokenTarget target{{"https://api.securitycenter.microsoft.com/.default"}, ""};
  HttpRequest r = BuildTokenRequest(SecretCredential(), "https://login.microsoftonline.com",
                                    "contoso.onmicrosoft.com", target, absl::Seconds(7));
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(r.timeout, absl::Seconds(7));
  EXPECT_EQ(r.body.Reveal(),
            "grant_type=client_credentials&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope="
            "https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&client_secret=s3cr3t%2B%2F"
            "%3D%26~");
  EXPECT_THAT(r.headers, ::testing::Contains(
                             ::testing::Pair("Content-Type", "application/x-www-form-urlencoded")));
}

TEST(TokenEndpointTest, V1RequestUsesResource) {
  TokenTarget target{{}, "https://api.securitycenter.windows.com"};
  HttpRequest r = BuildTokenRequest(SecretCredential(), "http://127.0.0.1:1", "t.example", target,
                                    absl::Seconds(1));
  EXPECT_EQ(r.url, "http://127.0.0.1:1/t.example/oauth2/token");
  EXPECT_THAT(r.body.Reveal(),
              HasSubstr("&resource=https%3A%2F%2Fapi.securitycenter.windows.com&"));
}

TEST(TokenEndpointTest, AssertionRequestCarriesTheJwtBearerTypeAndNoSecret) {
  ClientAuthentication authentication;
  authentication.client_assertion = SecretString("header.payload.signature");
  TokenTarget target{{"https://api.securitycenter.microsoft.com/.default"}, ""};
  HttpRequest r = BuildTokenRequest(
      TokenEndpointUrl("https://login.microsoftonline.us", "contoso.onmicrosoft.us", true),
      "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", target, authentication, absl::Seconds(3));
  EXPECT_EQ(r.url, "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token");
  EXPECT_EQ(r.timeout, absl::Seconds(3));
  EXPECT_EQ(r.body.Reveal(),
            "grant_type=client_credentials&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope="
            "https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&client_assertion_type=urn%"
            "3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
            "header.payload.signature");
}

TEST(TokenEndpointTest, TokenEndpointUrls) {
  EXPECT_EQ(TokenEndpointUrl("https://login.microsoftonline.com", "contoso.com", true),
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token");
  EXPECT_EQ(TokenEndpointUrl("http://127.0.0.1:1/base", "t.example", false),
            "http://127.0.0.1:1/base/t.example/oauth2/token");
}

TEST(TokenEndpointTest, TargetsAreValidated) {
  EXPECT_THAT(ValidateTokenTarget({{"api://x/.default"}, ""}), IsOk());
  EXPECT_THAT(ValidateTokenTarget({{}, "https://x"}), IsOk());
  EXPECT_THAT(ValidateTokenTarget({{}, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scopes, resource")));
  EXPECT_THAT(ValidateTokenTarget({{"a"}, "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  EXPECT_THAT(ValidateTokenTarget({{""}, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scopes:")));
  EXPECT_THAT(ValidateTokenTarget({{"a b"}, ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scopes:")));
  EXPECT_THAT(ValidateTokenTarget({{}, "x\ny"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resource:")));
}

TEST(TokenEndpointTest, ParsesTheV2ShapeWithNumbers) {
  std::string jwt = FakeJwt(R"({"tid":"t1","roles":["Ti.ReadWrite","Event.Write"]})");
  absl::StatusOr<AccessToken> t = ParseTokenResponse(
      absl::StrCat(R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,)",
                   R"("access_token":")", jwt, R"("})"),
      kNow);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->value.Reveal(), jwt);
  EXPECT_EQ(t->token_type, "Bearer");
  EXPECT_EQ(t->expires_at, kNow + absl::Seconds(3599));
  EXPECT_EQ(t->obtained_at, kNow);
  EXPECT_FALSE(t->refresh_at.has_value());
  EXPECT_EQ(t->tenant_id, "t1");
  EXPECT_THAT(t->roles, ElementsAre("Ti.ReadWrite", "Event.Write"));
}

TEST(TokenEndpointTest, ParsesTheV1ShapeWithStrings) {
  absl::StatusOr<AccessToken> t = ParseTokenResponse(
      R"({"token_type":"Bearer","expires_in":"3599","ext_expires_in":"0","expires_on":"1800003599",)"
      R"("not_before":"1799999700","resource":"https://api.securitycenter.windows.com",)"
      R"("access_token":"opaque-token"})",
      kNow);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_at, kNow + absl::Seconds(3599));
  EXPECT_TRUE(t->roles.empty());  // Not a JWT: no claims, not an error.
}

TEST(TokenEndpointTest, FallsBackToExpiresOnAndHonoursRefreshIn) {
  absl::StatusOr<AccessToken> t = ParseTokenResponse(
      R"({"access_token":"x","expires_on":1800007200,"refresh_in":"3600"})", kNow);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_at, absl::FromUnixSeconds(1800007200));
  EXPECT_EQ(t->refresh_at, kNow + absl::Hours(1));
  EXPECT_EQ(t->token_type, "Bearer");
}

TEST(TokenEndpointTest, HostileOrBrokenRepliesAreTransientErrors) {
  const char* cases[] = {
      "",
      "not json",
      "[]",
      R"({"expires_in":3599})",
      R"({"access_token":"","expires_in":3599})",
      R"({"access_token":42,"expires_in":3599})",
      R"({"access_token":"x"})",
      R"({"access_token":"x","expires_in":-5})",
      R"({"access_token":"x","expires_in":"soon"})",
      R"({"access_token":"x","expires_in":99999999999})",
      R"({"access_token":"x","expires_on":1})",
      R"({"access_token":"x","expires_in":3599)",
  };
  for (const char* body : cases) {
    SCOPED_TRACE(body);
    EXPECT_THAT(ParseTokenResponse(body, kNow),
                StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  }
  EXPECT_THAT(ParseTokenResponse(std::string(100000, ' '), kNow),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("too large")));
}

HttpResponse EntraError(int status, const std::string& error, int code) {
  HttpResponse r;
  r.status = status;
  r.body = absl::StrCat(R"({"error":")", error, R"(","error_description":"AADSTS)", code,
                        R"(: text.\r\nTrace ID: x\r\nCorrelation ID: y","error_codes":[)", code,
                        R"(],"timestamp":"2026-11-29 05:00:00Z",)",
                        R"("trace_id":"0d9d6b1c-1c36-4f6a-9c71-7c1b1f1a0000",)",
                        R"("correlation_id":"5f1c2a3b-0000-4c0e-8f2e-111111111111"})");
  return r;
}

TEST(TokenEndpointTest, ClassifiesEveryAadstsCodeOfEntraMd) {
  struct Case {
    int status;
    const char* error;
    int code;
    absl::StatusCode want;
    const char* explains;
  };
  const Case cases[] = {
      {401, "invalid_client", 7000215, absl::StatusCode::kFailedPrecondition, "secret is wrong"},
      {401, "invalid_client", 7000222, absl::StatusCode::kFailedPrecondition, "expired"},
      {400, "invalid_client", 700027, absl::StatusCode::kFailedPrecondition, "assertion"},
      {400, "invalid_client", 50012, absl::StatusCode::kFailedPrecondition, "assertion"},
      {400, "invalid_client", 700030, absl::StatusCode::kFailedPrecondition, "assertion"},
      {400, "invalid_request", 7000218, absl::StatusCode::kFailedPrecondition, "lacks"},
      {400, "invalid_request", 900144, absl::StatusCode::kFailedPrecondition, "lacks"},
      {400, "unauthorized_client", 700016, absl::StatusCode::kFailedPrecondition, "consent"},
      {400, "unauthorized_client", 7000112, absl::StatusCode::kFailedPrecondition, "disabled"},
      {400, "unauthorized_client", 70001, absl::StatusCode::kFailedPrecondition, "disabled"},
      {400, "invalid_request", 90002, absl::StatusCode::kFailedPrecondition, "tenant"},
      {400, "invalid_tenant", 90002, absl::StatusCode::kFailedPrecondition, "tenant"},
      {400, "invalid_scope", 70011, absl::StatusCode::kFailedPrecondition, ".default"},
      {400, "invalid_scope", 1002012, absl::StatusCode::kFailedPrecondition, ".default"},
      {400, "invalid_scope", 700022, absl::StatusCode::kFailedPrecondition, "one resource"},
      {400, "invalid_resource", 500011, absl::StatusCode::kFailedPrecondition, "not present"},
      {400, "invalid_grant", 65001, absl::StatusCode::kFailedPrecondition, "consent"},
      {400, "invalid_grant", 90094, absl::StatusCode::kFailedPrecondition, "consent"},
      {400, "invalid_request", 70021, absl::StatusCode::kFailedPrecondition, "federated"},
      {401, "invalid_client", 700024, absl::StatusCode::kFailedPrecondition,
       "not within its valid time range"},
      {401, "invalid_client", 700023, absl::StatusCode::kFailedPrecondition, "audience"},
      {401, "invalid_client", 700021, absl::StatusCode::kFailedPrecondition, "client id"},
      {400, "invalid_request", 50027, absl::StatusCode::kFailedPrecondition, "well-formed JWT"},
      {401, "invalid_client", 50013, absl::StatusCode::kFailedPrecondition, "already used"},
      {400, "invalid_request", 90061, absl::StatusCode::kFailedPrecondition, "OIDC issuer"},
      {400, "invalid_request", 9001023, absl::StatusCode::kFailedPrecondition, "specific tenant"},
      {400, "invalid_request", 901002, absl::StatusCode::kFailedPrecondition, "use scopes"},
      {400, "temporarily_unavailable", 50033, absl::StatusCode::kUnavailable, "HTTP 400"},
      {400, "invalid_request", 90006, absl::StatusCode::kUnavailable, "AADSTS90006"},
      {400, "invalid_request", 90033, absl::StatusCode::kUnavailable, "AADSTS90033"},
      {400, "invalid_request", 90090, absl::StatusCode::kUnavailable, "AADSTS90090"},
      {400, "invalid_request", 90024, absl::StatusCode::kUnavailable, "AADSTS90024"},
      {429, "invalid_request", 90055, absl::StatusCode::kUnavailable, "throttling"},
      {400, "invalid_request", 50196, absl::StatusCode::kUnavailable, "AADSTS50196"},
      {503, "temporarily_unavailable", 0, absl::StatusCode::kUnavailable, "HTTP 503"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.code);
    absl::Status s = ClassifyTokenError(EntraError(c.status, c.error, c.code), kNow);
    EXPECT_THAT(s, StatusIs(c.want, HasSubstr(c.explains)));
    std::optional<ErrorDetails> details = GetErrorDetails(s);
    ASSERT_TRUE(details.has_value());
    if (c.code != 0) {
      EXPECT_EQ(details->reason, absl::StrCat("AADSTS", c.code));
      EXPECT_THAT(std::string(s.message()), HasSubstr(details->reason));
    }
    EXPECT_EQ(details->error, c.error);
    EXPECT_EQ(details->trace_id, "0d9d6b1c-1c36-4f6a-9c71-7c1b1f1a0000");
    EXPECT_EQ(details->correlation_id, "5f1c2a3b-0000-4c0e-8f2e-111111111111");
    EXPECT_EQ(IsTransient(s), c.want == absl::StatusCode::kUnavailable);
  }
}

TEST(TokenEndpointTest, CodeFromTheDescriptionWhenErrorCodesIsMissing) {
  HttpResponse r;
  r.status = 401;
  r.body =
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"})";
  absl::Status s = ClassifyTokenError(r, kNow);
  EXPECT_EQ(GetErrorDetails(s)->reason, "AADSTS7000215");
}

TEST(TokenEndpointTest, UnknownCodesFallBackOnTheErrorField) {
  absl::Status s = ClassifyTokenError(EntraError(400, "invalid_client", 1234567), kNow);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("client credentials were rejected")));
}

TEST(TokenEndpointTest, ThrottlingCarriesRetryAfter) {
  HttpResponse r;
  r.status = 429;
  r.headers = {{"retry-after", "60"}};
  absl::Status s = ClassifyTokenError(r, kNow);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("throttling")));
  EXPECT_EQ(GetErrorDetails(s)->retry_after, absl::Seconds(60));
}

TEST(TokenEndpointTest, NonOAuthErrorsAreConfigurationProblems) {
  HttpResponse r;
  r.status = 404;
  r.body = "<html>not found</html>";
  EXPECT_THAT(ClassifyTokenError(r, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("authority host")));
}

TEST(TokenEndpointTest, HostileErrorFieldsAreNotEchoed) {
  HttpResponse r;
  r.status = 400;
  r.body = R"({"error":"bad\nline injected","trace_id":"<script>","correlation_id":"x y",)"
           R"("error_description":"the secret was hunter2"})";
  absl::Status s = ClassifyTokenError(r, kNow);
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("injected")));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("<script>")));
  EXPECT_EQ(GetErrorDetails(s)->trace_id, "");
}

TEST(TokenEndpointTest, RetryAfterForms) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 5 ", kNow), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("999999", kNow), absl::Hours(1));  // Capped.
  EXPECT_EQ(ParseRetryAfter(absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", kNow + absl::Seconds(90),
                                             absl::UTCTimeZone()),
                            kNow),
            absl::Seconds(90));
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
}

}  // namespace
}  // namespace tokend
