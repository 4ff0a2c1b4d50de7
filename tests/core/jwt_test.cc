#include "service/core/jwt.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

TEST(ParseJwtTest, AcceptsNestingAtTheLimit) {
  // The root object is depth 1, so 7 more levels reach the limit of 8.
  EXPECT_THAT(ParseJwt(Token(kHeader, absl::StrCat(R"({"exp":1,"x":)", NestedObjects(7), "}"))),
              IsOk());
  EXPECT_THAT(
      ParseJwt(Token(absl::StrCat(R"({"alg":"RS256","x":)", NestedObjects(7), "}"), kPayload)),
      IsOk());
  JwtLimits limits;
  limits.max_json_depth = 1;
  EXPECT_THAT(ParseJwt(Token(R"({"alg":"RS256"})", R"({"exp":1,"x":2})"), limits), IsOk());
  EXPECT_THAT(ParseJwt(Token(R"({"alg":"RS256"})", R"({"exp":1,"x":[]})"), limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(ParseJwtTest, AcceptsArraysAtTheLimit) {
  std::string roles = R"({"exp":1,"roles":[)";
  for (int i = 0; i < 200; ++i) absl::StrAppend(&roles, i == 0 ? "" : ",", "\"r\"");
  absl::StatusOr<Jwt> jwt = ParseJwt(Token(kHeader, roles + "]}"));
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->roles.size(), 200);
}

TEST(ParseJwtTest, SameKeyInDifferentObjectsIsNotADuplicate) {
  EXPECT_THAT(
      ParseJwt(Token(kHeader, R"({"exp":1,"a":{"a":1},"b":{"a":1},"c":[{"a":1},{"a":1}]})")),
      IsOk());
}

TEST(ParseJwtTest, OnlyTopLevelMembersAreClaims) {
  // Nested objects hold no claims, and the member limit is for the top level only.
  std::string nested = R"({"iss":1,"exp":"x","roles":2)";
  for (int i = 0; i < 150; ++i) absl::StrAppend(&nested, ",\"c", i, "\":", i);
  absl::StatusOr<Jwt> jwt =
      ParseJwt(Token(kHeader, absl::StrCat(R"({"exp":7,"x":)", nested, "}}")));
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->exp, 7);
  EXPECT_EQ(jwt->iss, "");
  EXPECT_THAT(jwt->roles, ElementsAre());
}

TEST(ParseJwtTest, KeysAndValuesAreUnescaped) {
  absl::StatusOr<Jwt> jwt =
      ParseJwt(Token(R"({"\u0061lg":"RS\u0032\u0035\u0036","kid":"k\/1"})",
                     R"({"\u0065xp":5,"iss":"q\"b\\s\/\b\f\n\r\t\u00e9\u20AC\ud83d\ude00\u0000)"
                     "\xc3\xa9\xf0\x9f\x98\x80\x7f"
                     R"(","aud":["\u0061"],"r\u006fles":["x\u0079"]})"));
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->alg, "RS256");
  EXPECT_EQ(jwt->kid, "k/1");
  EXPECT_EQ(jwt->exp, 5);
  EXPECT_EQ(jwt->iss, absl::StrCat("q\"b\\s/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                                   std::string(1, '\0'), "\xc3\xa9\xf0\x9f\x98\x80\x7f"));
  EXPECT_THAT(jwt->aud, ElementsAre("a"));
  EXPECT_THAT(jwt->roles, ElementsAre("xy"));
}

TEST(ParseJwtTest, ReadsIntegersAcrossTheirRange) {
  const std::pair<const char*, int64_t> cases[] = {
      {"0", 0},
      {"-0", 0},
      {"-1", -1},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
  };
  for (const auto& [text, value] : cases) {
    absl::StatusOr<Jwt> jwt = ParseJwt(Token(kHeader, absl::StrCat(R"({"exp":)", text, "}")));
    ASSERT_THAT(jwt, IsOk()) << text;
    EXPECT_EQ(jwt->exp, value) << text;
  }
}

TEST(ParseJwtTest, AcceptsWhatNlohmannAccepted) {
  // Floats, literals and huge numbers outside the claims read; whitespace; a leading byte order
  // mark.
  EXPECT_THAT(
      ParseJwt(Token(kHeader, R"({"exp":1,"f":[1.5e300,-0.0,1E-400,1e5],"b":[true,false,null],)"
                              R"("n":123456789012345678901234567890})")),
      IsOk());
  EXPECT_THAT(ParseJwt(Token(" \t\r\n{ \"alg\" : \"RS256\" } \n", "\xEF\xBB\xBF{\"exp\":1}")),
              IsOk());
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
      {"EmptyAlg", Token(R"({"alg":""})", kPayload), "empty alg"},
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
      // Duplicates at any depth, compared after unescaping.
      {"DuplicateKeyInNestedObject", Token(kHeader, R"({"exp":1,"x":{"y":{"a":1,"a":2}}})"),
       "payload has a duplicate key"},
      {"DuplicateEscapedHeaderKey", Token(R"({"alg":"RS256","\u0061lg":"none"})", kPayload),
       "header has a duplicate key"},
      {"DuplicateEscapedClaim", Token(kHeader, R"({"exp":1,"aud":"a","\u0061ud":"b"})"),
       "payload has a duplicate key"},
      {"NestedObjectsNine", Token(kHeader, absl::StrCat(R"({"exp":1,"x":)", NestedObjects(8), "}")),
       "nested too deeply"},
      {"HeaderNestedNine",
       Token(absl::StrCat(R"({"alg":"RS256","x":)", NestedObjects(8), "}"), kPayload),
       "header is nested too deeply"},
      // Numbers.
      {"ExpJustOverInt64", Token(kHeader, R"({"exp":9223372036854775808})"), "exp is out of range"},
      {"ExpOverUint64", Token(kHeader, R"({"exp":18446744073709551616})"), "exp is not an integer"},
      {"ExpBelowInt64", Token(kHeader, R"({"exp":-9223372036854775809})"), "exp is not an integer"},
      {"ExpWithFraction", Token(kHeader, R"({"exp":1.0})"), "exp is not an integer"},
      {"ExpBool", Token(kHeader, R"({"exp":true})"), "exp is not an integer"},
      {"FloatOverflow", Token(kHeader, R"({"exp":1,"x":1e400})"), "payload is not valid JSON"},
      {"LeadingZero", Token(kHeader, R"({"exp":01})"), "payload is not valid JSON"},
      {"BareMinus", Token(kHeader, R"({"exp":-})"), "payload is not valid JSON"},
      {"PlusSign", Token(kHeader, R"({"exp":+1})"), "payload is not valid JSON"},
      {"NoFractionDigits", Token(kHeader, R"({"exp":1.})"), "payload is not valid JSON"},
      {"NoExponentDigits", Token(kHeader, R"({"exp":1e+})"), "payload is not valid JSON"},
      // Strings.
      {"LoneHighSurrogate", Token(kHeader, R"({"exp":1,"s":"\ud83d"})"), "not valid JSON"},
      {"LoneLowSurrogate", Token(kHeader, R"({"exp":1,"s":"\ude00"})"), "not valid JSON"},
      {"HighSurrogateThenOther", Token(kHeader, R"({"exp":1,"s":"\ud83d\u0041"})"),
       "not valid JSON"},
      {"ShortUnicodeEscape", Token(kHeader, R"({"exp":1,"s":"\u12"})"), "not valid JSON"},
      {"UnknownEscape", Token(kHeader, R"({"exp":1,"s":"\x41"})"), "not valid JSON"},
      {"RawControlCharacter", Token(kHeader, "{\"exp\":1,\"s\":\"a\tb\"}"), "not valid JSON"},
      {"OverlongUtf8", Token(kHeader, "{\"exp\":1,\"s\":\"\xc0\xaf\"}"), "not valid JSON"},
      {"Utf8Surrogate", Token(kHeader, "{\"exp\":1,\"s\":\"\xed\xa0\x80\"}"), "not valid JSON"},
      {"Utf8BeyondUnicode", Token(kHeader, "{\"exp\":1,\"s\":\"\xf4\x90\x80\x80\"}"),
       "not valid JSON"},
      {"TruncatedUtf8", Token(kHeader, "{\"exp\":1,\"s\":\"\xe2\x82\"}"), "not valid JSON"},
      {"UnterminatedString", Token(kHeader, R"({"exp":1,"s":"abc)"), "not valid JSON"},
      // Structure.
      {"TrailingComma", Token(kHeader, R"({"exp":1,})"), "payload is not valid JSON"},
      {"MissingColon", Token(kHeader, R"({"exp" 1})"), "payload is not valid JSON"},
      {"BadLiteral", Token(kHeader, R"({"exp":1,"x":tru})"), "payload is not valid JSON"},
      {"FormFeedIsNotWhitespace", Token(kHeader, "{\"exp\":1}\f"), "payload is not valid JSON"},
      {"BrokenByteOrderMark", Token(kHeader, "\xEF\xBB{\"exp\":1}"), "payload is not valid JSON"},
      // nlohmann took a NUL byte for the end of the text and ignored what followed; no more.
      {"NulAfterPayload", Token(kHeader, std::string("{\"exp\":1}\0{}", 11)),
       "payload is not valid JSON"},
      {"NulAfterHeader", Token(std::string("{\"alg\":\"RS256\"}\0", 16), kPayload),
       "header is not valid JSON"},
      {"RootArrayOfClaims", Token(kHeader, R"([{"exp":1}])"), "payload is not a JSON object"},
      // Claim types, including entries of arrays.
      {"AudObject", Token(kHeader, R"({"exp":1,"aud":{"a":"b"}})"), "aud is not an array"},
      {"RolesNestedArray", Token(kHeader, R"({"exp":1,"roles":["a",["b"]]})"),
       "roles holds a non-string"},
      {"RolesObjectEntry", Token(kHeader, R"({"exp":1,"roles":[{"r":"a"}]})"),
       "roles holds a non-string"},
      {"TooManyAudiences",
       Token(kHeader, absl::StrReplaceAll(roles_201, {{"roles", "aud"}}) + "]}"),
       "aud has more than 200"},
      // The first problem wins: JSON errors before claim types, header before payload.
      {"JsonErrorBeforeClaimType", Token(kHeader, R"({"iss":1,"exp":1,"exp":2})"), "duplicate"},
      {"LimitBeforeClaimType",
       Token(kHeader, absl::StrCat(R"({"iss":1,"exp":1,"s":")", std::string(4097, 'a'), "\"}")),
       "string that is too long"},
      {"HeaderBeforePayload", Token(R"({"alg":"RS256","crit":[]})", "not json"), "crit"},
      {"CritBeforeAlgType", Token(R"({"alg":1,"crit":"x"})", kPayload), "crit"},
      {"AlgBeforeKid", Token(R"({"kid":1,"alg":2})", kPayload), "alg is not a string"},
      // A duplicate key is the first problem even when another follows before its object ends.
      {"DuplicateThenLongString",
       Token(kHeader, absl::StrCat(R"({"exp":1,"exp":2,"s":")", std::string(4097, 'a'), "\"}")),
       "payload has a duplicate key"},
      {"DuplicateThenTooDeep",
       Token(kHeader, absl::StrCat(R"({"exp":1,"x":{"a":1,"a":2,"b":)", NestedObjects(9), "}}")),
       "payload has a duplicate key"},
      {"DuplicateThenTruncated", Token(kHeader, R"({"exp":1,"x":[{"a":1,"a":2)"),
       "payload has a duplicate key"},
      {"DuplicateThenBadSyntax", Token(R"({"alg":"RS256","alg":"none" "kid"})", kPayload),
       "header has a duplicate key"},
      {"ClaimCountBeforeDuplicate",  // The 101st member, a duplicate, is one too many first.
       Token(kHeader, claims_101.substr(0, claims_101.rfind(",\"c100\"")) + ",\"c1\":1}"),
       "too many members"},
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
