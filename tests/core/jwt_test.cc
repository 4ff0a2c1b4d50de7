#include "service/core/jwt.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/base64url.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using ::testing::Optional;
using testing::StatusIs;

constexpr char kHeader[] = R"({"typ":"JWT","alg":"RS256","x5t":"x5t-1","kid":"kid-1"})";
constexpr char kPayload[] =
    R"({"aud":"api://tokend","iss":"https://sts.windows.net/t/","iat":1799999940,)"
    R"("nbf":1799999940,"exp":1800003600,"appid":"app","oid":"oid-1",)"
    R"("roles":["Machine.Read.All","Alert.Read.All"],"tid":"t","ver":"1.0"})";

std::string Token(absl::string_view header, absl::string_view payload,
                  absl::string_view signature = "sig") {
  return absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload), ".",
                      Base64UrlEncode(signature));
}

// `{"exp":1,"x":` + `depth` nested arrays + `}`.
std::string NestedPayload(int depth) {
  return absl::StrCat(R"({"exp":1,"x":)", std::string(depth, '['), std::string(depth, ']'), "}");
}

// `depth` nested objects: {"a":{"a":...1...}}.
std::string NestedObjects(int depth) {
  std::string json;
  for (int i = 0; i < depth; ++i) json += R"({"a":)";
  return json + "1" + std::string(depth, '}');
}

TEST(ParseJwtTest, ReadsHeaderAndClaims) {
  const std::string token = Token(kHeader, kPayload, "signature-bytes");
  absl::StatusOr<Jwt> jwt = ParseJwt(token);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->alg, "RS256");
  EXPECT_EQ(jwt->kid, "kid-1");
  EXPECT_EQ(jwt->typ, "JWT");
  EXPECT_EQ(jwt->x5t, "x5t-1");
  EXPECT_EQ(jwt->iss, "https://sts.windows.net/t/");
  EXPECT_THAT(jwt->aud, ElementsAre("api://tokend"));
  EXPECT_EQ(jwt->tid, "t");
  EXPECT_EQ(jwt->appid, "app");
  EXPECT_EQ(jwt->azp, "");
  EXPECT_EQ(jwt->oid, "oid-1");
  EXPECT_EQ(jwt->ver, "1.0");
  EXPECT_THAT(jwt->roles, ElementsAre("Machine.Read.All", "Alert.Read.All"));
  EXPECT_THAT(jwt->iat, Optional(1799999940));
  EXPECT_THAT(jwt->nbf, Optional(1799999940));
  EXPECT_EQ(jwt->exp, 1800003600);
  EXPECT_EQ(jwt->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jwt->signature, "signature-bytes");
  EXPECT_EQ(jwt->payload["appid"], "app");
  EXPECT_EQ(jwt->header["kid"], "kid-1");
}

TEST(ParseJwtTest, AudienceArrayBecomesAList) {
  absl::StatusOr<Jwt> jwt = ParseJwt(Token(kHeader, R"({"exp":1,"aud":["a","b"],"azp":"c"})"));
  ASSERT_THAT(jwt, IsOk());
  EXPECT_THAT(jwt->aud, ElementsAre("a", "b"));
  EXPECT_EQ(jwt->azp, "c");
  EXPECT_EQ(jwt->iat, std::nullopt);
  EXPECT_EQ(jwt->nbf, std::nullopt);
}

TEST(ParseJwtTest, EmptySignatureParses) {
  absl::StatusOr<Jwt> jwt = ParseJwt(absl::StrCat(Token(R"({"alg":"none"})", R"({"exp":1})", "")));
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->alg, "none");
  EXPECT_EQ(jwt->signature, "");
}

TEST(ParseJwtTest, AcceptsValuesAtTheLimits) {
  EXPECT_THAT(ParseJwt(Token(kHeader, NestedPayload(7))), IsOk());  // Depth 8 with the object.
  std::string claims = R"({"exp":1)";
  for (int i = 1; i < 100; ++i) absl::StrAppend(&claims, ",\"c", i, "\":", i);
  EXPECT_THAT(ParseJwt(Token(kHeader, claims + "}")), IsOk());
  EXPECT_THAT(
      ParseJwt(Token(kHeader, absl::StrCat(R"({"exp":1,"s":")", std::string(4096, 'a'), "\"}"))),
      IsOk());
  EXPECT_THAT(ParseJwt(Token(kHeader, R"({"exp":9223372036854775807})")), IsOk());
  EXPECT_THAT(ParseJwt(Token(kHeader, R"({"exp":-1})")), IsOk());
}

struct MalformedCase {
  const char* name;
  std::string token;
  const char* message;  // A substring of the error.
};

std::vector<MalformedCase> MalformedCases() {
  const std::string good = Token(kHeader, kPayload);
  const std::vector<std::string> parts = absl::StrSplit(good, '.');
  std::string roles_201 = R"({"exp":1,"roles":[)";
  for (int i = 0; i < 201; ++i) absl::StrAppend(&roles_201, i == 0 ? "" : ",", "\"r\"");
  std::string claims_101 = R"({"exp":1)";
  for (int i = 1; i <= 100; ++i) absl::StrAppend(&claims_101, ",\"c", i, "\":", i);
  return {
      {"Empty", "", "token is empty"},
      {"OneSegment", parts[0], "fewer than 3"},
      {"TwoSegments", absl::StrCat(parts[0], ".", parts[1]), "fewer than 3"},
      {"Truncated", good.substr(0, good.size() / 3), ""},
      {"FourSegments", absl::StrCat(good, ".", parts[2]), "more than 3"},
      {"PaddedPayload", absl::StrCat(parts[0], ".", parts[1], "=.", parts[2]), "base64url"},
      {"PlusInSignature", absl::StrCat(parts[0], ".", parts[1], ".+", parts[2]), "base64url"},
      {"SlashInHeader", absl::StrCat("/", good), "base64url"},
      {"Whitespace", good + "\n", "base64url"},
      {"OneMegabyte", std::string(1 << 20, 'a'), "longer than 16384"},
      {"HeaderTooLong",
       Token(absl::StrCat(R"({"alg":"RS256","x":")", std::string(2100, 'a'), "\"}"), kPayload),
       "header is longer"},
      {"HeaderNotJson", Token("{alg:RS256}", kPayload), "header is not valid JSON"},
      {"HeaderArray", Token(R"(["alg"])", kPayload), "not a JSON object"},
      {"PayloadNumber", Token(kHeader, "123"), "payload is not a JSON object"},
      {"TrailingGarbage", Token(kHeader, R"({"exp":1} x)"), "not valid JSON"},
      {"InvalidUtf8", Token(kHeader, "{\"exp\":1,\"x\":\"\xff\"}"), "not valid JSON"},
      {"DuplicateHeaderKey", Token(R"({"alg":"RS256","alg":"none"})", kPayload), "duplicate"},
      {"DuplicatePayloadKey", Token(kHeader, R"({"exp":1,"exp":2})"), "duplicate"},
      {"DuplicateNestedKey", Token(kHeader, R"({"exp":1,"x":[{"a":1,"a":1}]})"), "duplicate"},
      {"CritHeader", Token(R"({"alg":"RS256","crit":["exp"],"exp":1})", kPayload), "crit"},
      {"NoAlg", Token(R"({"kid":"k"})", kPayload), "no alg"},
      {"AlgNotString", Token(R"({"alg":256})", kPayload), "alg is not a string"},
      {"KidNotString", Token(R"({"alg":"RS256","kid":1})", kPayload), "kid is not a string"},
      {"NoExp", Token(kHeader, R"({"iss":"i"})"), "exp is missing"},
      {"ExpString", Token(kHeader, R"({"exp":"1800000000"})"), "exp is not an integer"},
      {"ExpFloat", Token(kHeader, R"({"exp":1.8e9})"), "exp is not an integer"},
      {"ExpTooLarge", Token(kHeader, R"({"exp":18446744073709551615})"), "out of range"},
      {"NbfString", Token(kHeader, R"({"exp":1,"nbf":"0"})"), "nbf is not an integer"},
      {"IssNumber", Token(kHeader, R"({"exp":1,"iss":1})"), "iss is not a string"},
      {"TidNull", Token(kHeader, R"({"exp":1,"tid":null})"), "tid is not a string"},
      {"AudNumber", Token(kHeader, R"({"exp":1,"aud":1})"), "aud is not an array"},
      {"AudArrayOfNumbers", Token(kHeader, R"({"exp":1,"aud":[1]})"), "aud holds a non-string"},
      {"RolesString", Token(kHeader, R"({"exp":1,"roles":"Machine.Read.All"})"),
       "roles is not an array"},
      {"RolesWithNumber", Token(kHeader, R"({"exp":1,"roles":["a",2]})"), "roles holds"},
      {"TooManyRoles", Token(kHeader, roles_201 + "]}"), "more than 200"},
      {"TooManyClaims", Token(kHeader, claims_101 + "}"), "too many members"},
      {"StringTooLong",
       Token(kHeader, absl::StrCat(R"({"exp":1,"s":")", std::string(4097, 'a'), "\"}")),
       "string that is too long"},
      {"KeyTooLong", Token(kHeader, absl::StrCat(R"({"exp":1,")", std::string(4097, 'a'), "\":1}")),
       "key that is too long"},
      {"NestedNine", Token(kHeader, NestedPayload(8)), "nested too deeply"},
      {"NestedThousand", Token(kHeader, NestedPayload(1000)), "nested too deeply"},
      {"NestedObjectsThousand",
       Token(kHeader, absl::StrCat(R"({"exp":1,"x":)", NestedObjects(1000), "}")),
       "nested too deeply"},
      {"NestedHeader",
       Token(absl::StrCat(R"({"alg":"RS256","x":)", std::string(900, '['), std::string(900, ']'),
                          "}"),
             kPayload),
       "header is nested too deeply"},
  };
}

TEST(ParseJwtTest, MalformedTokensAreRejectedWithoutQuotingThem) {
  for (const MalformedCase& c : MalformedCases()) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Jwt> jwt = ParseJwt(c.token);
    EXPECT_THAT(jwt, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    for (absl::string_view part : absl::StrSplit(c.token, '.')) {
      if (part.size() > 3) {
        EXPECT_THAT(std::string(jwt.status().message()), Not(HasSubstr(part)));
      }
    }
  }
}

TEST(ParseJwtTest, ErrorsNeverQuoteClaimValues) {
  absl::StatusOr<Jwt> jwt = ParseJwt(Token(kHeader, R"({"exp":"secret-value"})"));
  ASSERT_THAT(jwt, Not(IsOk()));
  EXPECT_THAT(std::string(jwt.status().message()), Not(HasSubstr("secret-value")));
}

TEST(ParseJwtTest, PayloadOverItsLimitIsRejected) {
  // With the default limits the token limit (16 KiB) binds first; raise it to reach this one.
  JwtLimits limits;
  limits.max_token_bytes = 64 * 1024;
  EXPECT_THAT(
      ParseJwt(Token(kHeader, absl::StrCat(R"({"exp":1,"x":")", std::string(12300, 'a'), "\"}")),
               limits),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("payload is longer")));
}

TEST(ParseJwtTest, TokenSizeLimitIsConfigurable) {
  JwtLimits limits;
  limits.max_token_bytes = 10;
  EXPECT_THAT(ParseJwt(Token(kHeader, kPayload), limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 10")));
}

TEST(StripBearerTest, RemovesOneCaseInsensitiveBearerPrefix) {
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"Bearer abc", "abc"},
      {"bearer abc", "abc"},
      {"BEARER abc", "abc"},
      {"Bearer  abc", " abc"},
      {"Bearerabc", "Bearerabc"},
      {"Bearer", "Bearer"},
      {"abc", "abc"},
      {"", ""},
      {"Bearer Bearer x", "Bearer x"},
  };
  for (const auto& c : cases) EXPECT_EQ(StripBearer(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace tokend
