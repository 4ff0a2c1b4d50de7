#include "service/core/jwt_verifier.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/base64url.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using testing::AssembleToken;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::JwksJson;
using ::testing::Not;
using testing::SignHs256;
using testing::SigningAlg;
using testing::StatusIs;
using testing::TestKey;
using Json = nlohmann::json;

constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr char kOtherTenant[] = "11111111-2222-3333-4444-555555555555";
constexpr char kIssuerTemplate[] = "https://sts.windows.net/{tenantid}/";
constexpr char kAudience[] = "https://api.securitycenter.microsoft.com";
constexpr int64_t kNowSeconds = 1800000000;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);

// Generated once: RSA key generation is slow, above all under the sanitizers.
struct Keys {
  TestKey rsa = TestKey::Rsa(2048, "rsa-1");
  TestKey rsa_ps = TestKey::Rsa(2048, "rsa-ps", "PS256");
  TestKey rsa3072 = TestKey::Rsa(3072, "rsa-3072", "RS256");
  TestKey ec = TestKey::Ec("ec-1", "ES256");
  JwkSet set = *ParseJwks(JwksJson({rsa.Jwk(), rsa_ps.Jwk(), rsa3072.Jwk(), ec.Jwk()}));
};
const Keys& GetKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

Json Header(const char* alg, const char* kid) {
  return Json{{"typ", "JWT"}, {"alg", alg}, {"kid", kid}};
}

Json Claims() {
  return Json{{"aud", kAudience},
              {"iss", absl::StrCat("https://sts.windows.net/", kTenant, "/")},
              {"iat", kNowSeconds - 60},
              {"nbf", kNowSeconds - 60},
              {"exp", kNowSeconds + 3600},
              {"appid", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"},
              {"oid", "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"},
              {"roles", {"Machine.Read.All", "Alert.Read.All"}},
              {"tid", kTenant},
              {"ver", "1.0"}};
}

Json With(Json json, const char* member, Json value) {
  json[member] = std::move(value);
  return json;
}
Json Without(Json json, const char* member) {
  json.erase(member);
  return json;
}

std::string Sign(const TestKey& key, SigningAlg alg, const Json& header, const Json& claims) {
  return key.Sign(alg, header.dump(), claims.dump());
}
std::string Rs256(const Json& claims) {
  return Sign(GetKeys().rsa, SigningAlg::kRs256, Header("RS256", "rsa-1"), claims);
}

// Replaces segment `index` of `token`.
std::string WithSegment(const std::string& token, int index, const std::string& segment) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  parts[static_cast<size_t>(index)] = segment;
  return absl::StrJoin(parts, ".");
}
std::string SignatureOf(const std::string& token) {
  return *Base64UrlDecode(token.substr(token.rfind('.') + 1));
}

struct Result {
  JwtFailure failure = JwtFailure::kNone;
  std::string detail;
  std::vector<std::string> missing_roles;
};

// The whole pipeline, in the documented order, as the service runs it.
Result Validate(absl::string_view raw, const JwtVerifier& verifier,
                std::vector<std::string> required_roles = {"Machine.Read.All"}) {
  Result r;
  absl::StatusOr<Jwt> jwt = ParseJwt(StripBearer(raw));
  if (!jwt.ok()) return {JwtFailure::kMalformed, std::string(jwt.status().message()), {}};
  r.failure = verifier.VerifySignature(*jwt, GetKeys().set, &r.detail);
  if (r.failure != JwtFailure::kNone) return r;
  r.failure = verifier.CheckTime(*jwt, kNow, &r.detail);
  if (r.failure != JwtFailure::kNone) return r;
  ClaimExpectations expected;
  expected.issuer = absl::StrReplaceAll(kIssuerTemplate, {{"{tenantid}", jwt->tid}});
  expected.audiences = {"api://tokend", kAudience};
  expected.tenant_allowed = [](const std::string& tid) { return tid == kTenant; };
  expected.required_roles = std::move(required_roles);
  r.failure = CheckClaims(*jwt, expected, &r.missing_roles, &r.detail);
  return r;
}

struct Case {
  std::string name;
  std::function<std::string()> token;
  JwtFailure want;
  int skew_seconds = 300;
  std::vector<std::string> algorithms = {"RS256"};
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> Cases() {
  using F = JwtFailure;
  const std::vector<std::string> rs_ps = {"RS256", "PS256"};
  const std::vector<std::string> rs_es = {"RS256", "ES256"};
  const std::vector<std::string> es = {"ES256"};
  const std::string nested = std::string(1000, '[') + std::string(1000, ']');
  return {
      // Valid tokens.
      {"ValidRs256", [] { return Rs256(Claims()); }, F::kNone},
      {"ValidRs256With3072BitKey",
       [] {
         return Sign(GetKeys().rsa3072, SigningAlg::kRs256, Header("RS256", "rsa-3072"), Claims());
       },
       F::kNone},
      {"ValidWithBearerPrefix", [] { return "bearer " + Rs256(Claims()); }, F::kNone},
      // exp and nbf, with the skew at both edges.
      {"Expired", [] { return Rs256(With(Claims(), "exp", kNowSeconds - 3600)); }, F::kExpired},
      {"ExpEqualToNowSkewZero", [] { return Rs256(With(Claims(), "exp", kNowSeconds)); },
       F::kExpired, 0},
      {"ExpOneSecondAheadSkewZero", [] { return Rs256(With(Claims(), "exp", kNowSeconds + 1)); },
       F::kNone, 0},
      {"ExpInsideSkewByOneSecond", [] { return Rs256(With(Claims(), "exp", kNowSeconds - 59)); },
       F::kNone, 60},
      {"ExpAtSkewEdge", [] { return Rs256(With(Claims(), "exp", kNowSeconds - 60)); }, F::kExpired,
       60},
      {"ExpOutsideSkewByOneSecond", [] { return Rs256(With(Claims(), "exp", kNowSeconds - 61)); },
       F::kExpired, 60},
      {"NbfInTheFuture", [] { return Rs256(With(Claims(), "nbf", kNowSeconds + 3600)); },
       F::kNotYetValid},
      {"NbfEqualToNowSkewZero", [] { return Rs256(With(Claims(), "nbf", kNowSeconds)); }, F::kNone,
       0},
      {"NbfOneSecondAheadSkewZero", [] { return Rs256(With(Claims(), "nbf", kNowSeconds + 1)); },
       F::kNotYetValid, 0},
      {"NbfInsideSkewByOneSecond", [] { return Rs256(With(Claims(), "nbf", kNowSeconds + 59)); },
       F::kNone, 60},
      {"NbfAtSkewEdge", [] { return Rs256(With(Claims(), "nbf", kNowSeconds + 60)); }, F::kNone,
       60},
      {"NbfOutsideSkewByOneSecond", [] { return Rs256(With(Claims(), "nbf", kNowSeconds + 61)); },
       F::kNotYetValid, 60},
      {"ExpiredWinsOverNotYetValid",
       [] {
         return Rs256(With(With(Claims(), "exp", kNowSeconds - 3600), "nbf", kNowSeconds + 3600));
       },
       F::kExpired},
      // Issuer, audience, tenant, roles.
      {"WrongIssuer",
       [] {
         return Rs256(
             With(Claims(), "iss", absl::StrCat("https://sts.windows.net/", kOtherTenant, "/")));
       },
       F::kWrongIssuer},
      {"V2IssuerForV1Expectation",
       [] {
         return Rs256(With(Claims(), "iss",
                           absl::StrCat("https://login.microsoftonline.com/", kTenant, "/v2.0")));
       },
       F::kWrongIssuer},
      {"NoIssuer", [] { return Rs256(Without(Claims(), "iss")); }, F::kWrongIssuer},
      {"WrongAudience", [] { return Rs256(With(Claims(), "aud", "api://someone-else")); },
       F::kWrongAudience},
      {"AudienceArrayWithOneMatch",
       [] {
         return Rs256(With(Claims(), "aud", {"api://someone-else", kAudience}));
       },
       F::kNone},
      {"AudienceArrayWithoutMatch",
       [] {
         return Rs256(With(Claims(), "aud", {"a", "b"}));
       },
       F::kWrongAudience},
      {"NoAudience", [] { return Rs256(Without(Claims(), "aud")); }, F::kWrongAudience},
      {"TenantNotAllowed",
       [] {
         Json claims = With(Claims(), "tid", kOtherTenant);
         return Rs256(
             With(claims, "iss", absl::StrCat("https://sts.windows.net/", kOtherTenant, "/")));
       },
       F::kTenantNotAllowed},
      {"MissingRoles", [] { return Rs256(With(Claims(), "roles", {"Alert.Read.All"})); },
       F::kMissingRoles},
      {"NoRolesClaim", [] { return Rs256(Without(Claims(), "roles")); }, F::kMissingRoles},
      {"RolesNotAnArray", [] { return Rs256(With(Claims(), "roles", "Machine.Read.All")); },
       F::kMalformed},
      {"RolesWithANumber",
       [] {
         return Rs256(With(Claims(), "roles", {"Machine.Read.All", 1}));
       },
       F::kMalformed},
      // Tampering and broken encodings.
      {"PayloadTampered",
       [] {
         Json claims = With(Claims(), "roles", {"Machine.Read.All", "Machine.Isolate"});
         return WithSegment(Rs256(Claims()), 1, Base64UrlEncode(claims.dump()));
       },
       F::kBadSignature},
      {"SignatureTampered",
       [] {
         const std::string token = Rs256(Claims());
         std::string signature = SignatureOf(token);
         signature[100] = static_cast<char>(signature[100] ^ 0x01);
         return WithSegment(token, 2, Base64UrlEncode(signature));
       },
       F::kBadSignature},
      {"SignatureTruncated",
       [] {
         const std::string token = Rs256(Claims());
         return WithSegment(token, 2, Base64UrlEncode(SignatureOf(token).substr(0, 200)));
       },
       F::kBadSignature},
      {"SignedByAnotherKeyWithTheSameKid",
       [] {
         return Sign(GetKeys().rsa3072, SigningAlg::kRs256, Header("RS256", "rsa-1"), Claims());
       },
       F::kBadSignature},
      {"BadSignatureWinsOverExpired",
       [] {
         const std::string token = Rs256(With(Claims(), "exp", kNowSeconds - 3600));
         return WithSegment(token, 1, Base64UrlEncode(Claims().dump()));
       },
       F::kBadSignature},
      {"TokenTruncated",
       [] {
         const std::string token = Rs256(Claims());
         return token.substr(0, token.size() / 3);
       },
       F::kMalformed},
      {"SignatureSegmentMissing",
       [] {
         const std::string token = Rs256(Claims());
         return token.substr(0, token.rfind('.'));
       },
       F::kMalformed},
      {"ExtraSegment", [] { return Rs256(Claims()) + ".e30"; }, F::kMalformed},
      {"PaddedStandardBase64Payload",
       [] {
         std::string payload = Claims().dump();
         while (payload.size() % 3 == 0) payload += ' ';
         return WithSegment(Rs256(Claims()), 1, Base64Encode(payload));
       },
       F::kMalformed},
      {"PlusInSignature",
       [] {
         std::string token = Rs256(Claims());
         token.back() = '+';
         return token;
       },
       F::kMalformed},
      {"SlashInSignature",
       [] {
         std::string token = Rs256(Claims());
         token[token.rfind('.') + 1] = '/';
         return token;
       },
       F::kMalformed},
      {"OneMegabyteToken", [] { return Rs256(With(Claims(), "pad", std::string(1 << 20, 'a'))); },
       F::kMalformed},
      {"DeeplyNestedPayload", [nested] { return Rs256(With(Claims(), "x", Json::parse(nested))); },
       F::kMalformed},
      {"DuplicateHeaderKey",
       [] {
         return GetKeys().rsa.Sign(
             SigningAlg::kRs256, R"({"alg":"RS256","kid":"rsa-1","alg":"none"})", Claims().dump());
       },
       F::kMalformed},
      {"CritHeader",
       [] {
         return Sign(GetKeys().rsa, SigningAlg::kRs256,
                     With(Header("RS256", "rsa-1"), "crit", {"exp"}), Claims());
       },
       F::kMalformed},
      {"ExpAsString",
       [] { return Rs256(With(Claims(), "exp", std::to_string(kNowSeconds + 3600))); },
       F::kMalformed},
      {"NoExp", [] { return Rs256(Without(Claims(), "exp")); }, F::kMalformed},
      // Algorithms and keys.
      {"AlgNone",
       [] { return AssembleToken(R"({"alg":"none","typ":"JWT"})", Claims().dump(), ""); },
       F::kDisallowedAlgorithm},
      {"AlgNoneWithKid",
       [] { return AssembleToken(R"({"alg":"none","kid":"rsa-1"})", Claims().dump(), ""); },
       F::kDisallowedAlgorithm},
      {"Hs256WithTheJwkAsSecret",
       [] {
         return SignHs256(Header("HS256", "rsa-1").dump(), Claims().dump(),
                          GetKeys().rsa.Jwk().dump());
       },
       F::kDisallowedAlgorithm},
      {"Hs256WithThePemAsSecret",
       [] {
         return SignHs256(Header("HS256", "rsa-1").dump(), Claims().dump(),
                          GetKeys().rsa.PublicKeyPem());
       },
       F::kDisallowedAlgorithm},
      {"Rs384",
       [] { return Sign(GetKeys().rsa, SigningAlg::kRs256, Header("RS384", "rsa-1"), Claims()); },
       F::kDisallowedAlgorithm},
      {"Rs256HeaderWithPs256Key",
       [] {
         return Sign(GetKeys().rsa_ps, SigningAlg::kRs256, Header("RS256", "rsa-ps"), Claims());
       },
       F::kDisallowedAlgorithm, 300, rs_ps},
      {"Es256HeaderWithRsaKid",
       [] { return Sign(GetKeys().ec, SigningAlg::kEs256, Header("ES256", "rsa-1"), Claims()); },
       F::kDisallowedAlgorithm, 300, rs_es},
      {"Rs256WithEcKid",
       [] { return Sign(GetKeys().rsa, SigningAlg::kRs256, Header("RS256", "ec-1"), Claims()); },
       F::kDisallowedAlgorithm, 300, rs_es},
      {"UnknownKid",
       [] {
         return Sign(GetKeys().rsa, SigningAlg::kRs256, Header("RS256", "rotated-away"), Claims());
       },
       F::kUnknownKey},
      {"NoKid",
       [] {
         return Sign(GetKeys().rsa, SigningAlg::kRs256, Without(Header("RS256", ""), "kid"),
                     Claims());
       },
       F::kUnknownKey},
      {"Ps256WhenEnabled",
       [] {
         return Sign(GetKeys().rsa_ps, SigningAlg::kPs256, Header("PS256", "rsa-ps"), Claims());
       },
       F::kNone, 300, rs_ps},
      {"Ps256WithKeyWithoutAlg",
       [] { return Sign(GetKeys().rsa, SigningAlg::kPs256, Header("PS256", "rsa-1"), Claims()); },
       F::kNone, 300, rs_ps},
      {"Ps256WhenNotEnabled",
       [] {
         return Sign(GetKeys().rsa_ps, SigningAlg::kPs256, Header("PS256", "rsa-ps"), Claims());
       },
       F::kDisallowedAlgorithm},
      {"Ps256HeaderOverPkcs1Signature",
       [] { return Sign(GetKeys().rsa, SigningAlg::kRs256, Header("PS256", "rsa-1"), Claims()); },
       F::kBadSignature, 300, rs_ps},
      {"Es256WhenEnabled",
       [] { return Sign(GetKeys().ec, SigningAlg::kEs256, Header("ES256", "ec-1"), Claims()); },
       F::kNone, 300, es},
      {"Es256WhenNotEnabled",
       [] { return Sign(GetKeys().ec, SigningAlg::kEs256, Header("ES256", "ec-1"), Claims()); },
       F::kDisallowedAlgorithm},
      {"Es256SignatureTampered",
       [] {
         const std::string token =
             Sign(GetKeys().ec, SigningAlg::kEs256, Header("ES256", "ec-1"), Claims());
         std::string signature = SignatureOf(token);
         signature[40] = static_cast<char>(signature[40] ^ 0x80);
         return WithSegment(token, 2, Base64UrlEncode(signature));
       },
       F::kBadSignature, 300, es},
      {"Es256SignatureOfWrongLength",
       [] {
         const std::string token =
             Sign(GetKeys().ec, SigningAlg::kEs256, Header("ES256", "ec-1"), Claims());
         return WithSegment(token, 2, Base64UrlEncode(SignatureOf(token) + '\0'));
       },
       F::kBadSignature, 300, es},
  };
}

class ValidateTokenTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateTokenTest, GetsTheExpectedFailure) {
  const Case& c = GetParam();
  absl::StatusOr<JwtVerifier> verifier =
      JwtVerifier::Create({c.algorithms, absl::Seconds(c.skew_seconds)});
  ASSERT_THAT(verifier, IsOk());
  const std::string token = c.token();
  const Result result = Validate(token, *verifier);
  EXPECT_EQ(JwtFailureName(result.failure), JwtFailureName(c.want)) << result.detail;
  EXPECT_EQ(result.detail.empty(), c.want == JwtFailure::kNone) << result.detail;
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() > 8) {
      EXPECT_THAT(result.detail, Not(HasSubstr(part)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tokens, ValidateTokenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(JwtVerifierTest, CreateRejectsBadOptions) {
  struct {
    const char* name;
    JwtVerifierOptions options;
  } cases[] = {
      {"NoAlgorithm", {{}, absl::Minutes(5)}},
      {"None", {{"RS256", "none"}, absl::Minutes(5)}},
      {"Hs256", {{"HS256"}, absl::Minutes(5)}},
      {"Hs512", {{"RS256", "HS512"}, absl::Minutes(5)}},
      {"Rs384", {{"RS384"}, absl::Minutes(5)}},
      {"LowerCase", {{"rs256"}, absl::Minutes(5)}},
      {"NegativeSkew", {{"RS256"}, absl::Seconds(-1)}},
      {"SkewTooLarge", {{"RS256"}, absl::Minutes(10) + absl::Seconds(1)}},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(JwtVerifier::Create(c.options),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << c.name;
  }
}

TEST(JwtVerifierTest, CreateAcceptsGoodOptions) {
  EXPECT_THAT(JwtVerifier::Create({}), IsOk());
  EXPECT_THAT(JwtVerifier::Create({{"RS256", "PS256", "ES256"}, absl::ZeroDuration()}), IsOk());
  absl::StatusOr<JwtVerifier> verifier = JwtVerifier::Create({{"ES256"}, absl::Minutes(10)});
  ASSERT_THAT(verifier, IsOk());
  EXPECT_EQ(verifier->clock_skew(), absl::Minutes(10));
}

TEST(JwtVerifierTest, TokenWithExpEqualToNowIsExpired) {
  JwtVerifier verifier = *JwtVerifier::Create({{"RS256"}, absl::ZeroDuration()});
  Jwt jwt;
  jwt.exp = kNowSeconds;
  std::string detail;
  EXPECT_EQ(verifier.CheckTime(jwt, kNow, &detail), JwtFailure::kExpired);
  EXPECT_EQ(detail, "token has expired");
  EXPECT_EQ(verifier.CheckTime(jwt, kNow - absl::Seconds(1), nullptr), JwtFailure::kNone);
}

TEST(JwtVerifierTest, ExtremeTimesDoNotOverflow) {
  JwtVerifier verifier = *JwtVerifier::Create({{"RS256"}, absl::Minutes(10)});
  Jwt jwt;
  jwt.exp = std::numeric_limits<int64_t>::max();
  jwt.nbf = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(verifier.CheckTime(jwt, kNow, nullptr), JwtFailure::kNone);
  jwt.exp = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(verifier.CheckTime(jwt, kNow, nullptr), JwtFailure::kExpired);
  jwt.exp = std::numeric_limits<int64_t>::max();
  jwt.nbf = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(verifier.CheckTime(jwt, kNow, nullptr), JwtFailure::kNotYetValid);
}

TEST(JwtVerifierTest, VerifiesConcurrentlyWithOneVerifierAndKeySet) {
  const JwtVerifier verifier = *JwtVerifier::Create({});
  const Jwt jwt = *ParseJwt(Rs256(Claims()));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (verifier.VerifySignature(jwt, GetKeys().set, nullptr) != JwtFailure::kNone) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

ClaimExpectations Expectations(std::vector<std::string> required_roles) {
  ClaimExpectations expected;
  expected.issuer = "iss";
  expected.audiences = {"aud"};
  expected.tenant_allowed = [](const std::string&) { return true; };
  expected.required_roles = std::move(required_roles);
  return expected;
}

Jwt ClaimsJwt(std::vector<std::string> roles) {
  Jwt jwt;
  jwt.iss = "iss";
  jwt.aud = {"aud"};
  jwt.tid = kTenant;
  jwt.roles = std::move(roles);
  return jwt;
}

TEST(CheckClaimsTest, MissingRolesListsExactlyTheMissingOnes) {
  std::vector<std::string> missing;
  std::string detail;
  EXPECT_EQ(CheckClaims(ClaimsJwt({"a", "c"}), Expectations({"a", "b", "c", "d", "b"}), &missing,
                        &detail),
            JwtFailure::kMissingRoles);
  EXPECT_THAT(missing, ElementsAre("b", "d"));
  EXPECT_EQ(detail, "token lacks 2 required role(s)");
}

TEST(CheckClaimsTest, RolesAreComparedExactly) {
  std::vector<std::string> missing;
  EXPECT_EQ(CheckClaims(ClaimsJwt({"machine.read.all"}), Expectations({"Machine.Read.All"}),
                        &missing, nullptr),
            JwtFailure::kMissingRoles);
  EXPECT_THAT(missing, ElementsAre("Machine.Read.All"));
}

TEST(CheckClaimsTest, AllRequiredRolesPresentIsValid) {
  std::vector<std::string> missing = {"stale"};
  EXPECT_EQ(CheckClaims(ClaimsJwt({"a", "b"}), Expectations({"b", "a"}), &missing, nullptr),
            JwtFailure::kNone);
  EXPECT_THAT(missing, IsEmpty());
  EXPECT_EQ(CheckClaims(ClaimsJwt({}), Expectations({}), nullptr, nullptr), JwtFailure::kNone);
}

TEST(CheckClaimsTest, MissingRolesAreListedEvenWhenAnEarlierCheckFails) {
  Jwt jwt = ClaimsJwt({});
  jwt.iss = "other";
  std::vector<std::string> missing;
  EXPECT_EQ(CheckClaims(jwt, Expectations({"a"}), &missing, nullptr), JwtFailure::kWrongIssuer);
  EXPECT_THAT(missing, ElementsAre("a"));
}

TEST(CheckClaimsTest, TokenWithoutIssuerNeverMatches) {
  Jwt jwt = ClaimsJwt({});
  jwt.iss = "";
  ClaimExpectations expected = Expectations({});
  expected.issuer = "";
  EXPECT_EQ(CheckClaims(jwt, expected, nullptr, nullptr), JwtFailure::kWrongIssuer);
}

TEST(CheckClaimsTest, TenantChecks) {
  ClaimExpectations expected = Expectations({});
  std::string detail;
  Jwt no_tid = ClaimsJwt({});
  no_tid.tid = "";
  EXPECT_EQ(CheckClaims(no_tid, expected, nullptr, &detail), JwtFailure::kTenantNotAllowed);
  EXPECT_EQ(detail, "token has no tid");

  expected.tenant_allowed = nullptr;  // Unset: no tenant is allowed.
  EXPECT_EQ(CheckClaims(ClaimsJwt({}), expected, nullptr, &detail), JwtFailure::kTenantNotAllowed);
  expected.tenant_allowed = [](const std::string& tid) { return tid == kOtherTenant; };
  EXPECT_EQ(CheckClaims(ClaimsJwt({}), expected, nullptr, nullptr), JwtFailure::kTenantNotAllowed);
}

TEST(CheckClaimsTest, EmptyAudienceListAcceptsNoToken) {
  ClaimExpectations expected = Expectations({});
  expected.audiences.clear();
  EXPECT_EQ(CheckClaims(ClaimsJwt({}), expected, nullptr, nullptr), JwtFailure::kWrongAudience);
}

TEST(JwtFailureNameTest, NamesAreStableAndDistinct) {
  EXPECT_EQ(JwtFailureName(JwtFailure::kNone), "none");
  EXPECT_EQ(JwtFailureName(JwtFailure::kMalformed), "malformed");
  EXPECT_EQ(JwtFailureName(JwtFailure::kBadSignature), "bad_signature");
  EXPECT_EQ(JwtFailureName(JwtFailure::kUnknownKey), "unknown_key");
  EXPECT_EQ(JwtFailureName(JwtFailure::kDisallowedAlgorithm), "disallowed_algorithm");
  EXPECT_EQ(JwtFailureName(JwtFailure::kExpired), "expired");
  EXPECT_EQ(JwtFailureName(JwtFailure::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(JwtFailureName(JwtFailure::kWrongIssuer), "wrong_issuer");
  EXPECT_EQ(JwtFailureName(JwtFailure::kWrongAudience), "wrong_audience");
  EXPECT_EQ(JwtFailureName(JwtFailure::kTenantNotAllowed), "tenant_not_allowed");
  EXPECT_EQ(JwtFailureName(JwtFailure::kMissingRoles), "missing_roles");
  EXPECT_EQ(JwtFailureName(JwtFailure::kKeysUnavailable), "keys_unavailable");
  std::set<absl::string_view> names;
  for (int i = 0; i <= 11; ++i) names.insert(JwtFailureName(static_cast<JwtFailure>(i)));
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(static_cast<int>(JwtFailure::kKeysUnavailable), 11);  // proto value.
}

}  // namespace
}  // namespace tokend
