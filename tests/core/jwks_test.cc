#include "service/core/jwks.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/base64url.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::JwksJson;
using ::testing::Not;
using testing::StatusIs;
using testing::TestKey;
using Json = nlohmann::json;

// Generated once: RSA key generation is slow, above all under the sanitizers.
struct Keys {
  TestKey rsa = TestKey::Rsa(2048, "rsa-1");
  TestKey rsa3072 = TestKey::Rsa(3072, "rsa-2", "RS256");
  TestKey ec = TestKey::Ec("ec-1", "ES256");
  TestKey weak = TestKey::Rsa(1024, "weak");
};
const Keys& GetKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

std::string Decoded(const Json& jwk, const char* member) {
  return *Base64UrlDecode(jwk[member].get<std::string>());
}

// Parses a JWKS holding `jwk` alone; expects the document itself to be fine.
JwkSet ParseOne(const Json& jwk) {
  absl::StatusOr<JwkSet> set = ParseJwks(JwksJson({jwk}));
  EXPECT_THAT(set, IsOk());
  return set.ok() ? *std::move(set) : JwkSet();
}

TEST(ParseJwksTest, BuildsRsaAndEcKeys) {
  const Keys& k = GetKeys();
  Json v2 = k.rsa.Jwk();
  v2["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0";
  v2["x5c"] = {"MIIC..."};
  absl::StatusOr<JwkSet> set = ParseJwks(JwksJson({v2, k.rsa3072.Jwk(), k.ec.Jwk()}));
  ASSERT_THAT(set, IsOk());
  ASSERT_EQ(set->keys.size(), 3u);
  EXPECT_EQ(set->skipped_malformed + set->skipped_unsupported + set->skipped_duplicates, 0u);
  EXPECT_THAT(set->notes, IsEmpty());

  const Jwk* rsa = set->Find("rsa-1");
  ASSERT_NE(rsa, nullptr);
  EXPECT_EQ(rsa->kty, "RSA");
  EXPECT_EQ(rsa->alg, "");
  EXPECT_EQ(rsa->use, "sig");
  EXPECT_EQ(rsa->issuer, "https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ(EVP_PKEY_eq(rsa->key.get(), k.rsa.pkey()), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(set->Find("rsa-2")->key.get()), 3072);

  const Jwk* ec = set->Find("ec-1");
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(ec->kty, "EC");
  EXPECT_EQ(ec->alg, "ES256");
  EXPECT_EQ(EVP_PKEY_eq(ec->key.get(), k.ec.pkey()), 1);
  EXPECT_EQ(set->Find("nope"), nullptr);
}

TEST(ParseJwksTest, KeyWithoutUseIsKept) {
  Json jwk = GetKeys().rsa.Jwk();
  jwk.erase("use");
  JwkSet set = ParseOne(jwk);
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.keys[0].use, "");
}

TEST(ParseJwksTest, RsaModulusWithLeadingZeroIsAccepted) {
  Json jwk = GetKeys().rsa.Jwk();
  jwk["n"] = Base64UrlEncode(absl::StrCat(std::string(1, '\0'), Decoded(jwk, "n")));
  JwkSet set = ParseOne(jwk);
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(set.keys[0].key.get(), GetKeys().rsa.pkey()), 1);
}

struct SkipCase {
  const char* name;
  Json jwk;
  bool malformed;       // Otherwise unsupported.
  const char* message;  // A substring of the note.
};

std::vector<SkipCase> SkipCases() {
  const Keys& k = GetKeys();
  const Json rsa = k.rsa.Jwk();
  const Json ec = k.ec.Jwk();
  auto with = [](Json jwk, const char* member, Json value) {
    jwk[member] = std::move(value);
    return jwk;
  };
  auto without = [](Json jwk, const char* member) {
    jwk.erase(member);
    return jwk;
  };
  std::string y = Decoded(ec, "y");
  y.back() = static_cast<char>(y.back() ^ 1);
  std::string even_n = Decoded(rsa, "n");
  even_n.back() = static_cast<char>(even_n.back() & ~1);
  const std::string weak_n = Decoded(k.weak.Jwk(), "n");
  return {
      {"Rsa1024", k.weak.Jwk(), true, "1024 bits"},
      {"Rsa1024PaddedWithZeros",
       with(k.weak.Jwk(), "n", Base64UrlEncode(std::string(128, '\0') + weak_n)), true,
       "1024 bits"},
      {"RsaEvenModulus", with(rsa, "n", Base64UrlEncode(even_n)), true, "even"},
      {"RsaExponentOne", with(rsa, "e", Base64UrlEncode("\x01")), true, "exponent"},
      {"RsaExponentEven", with(rsa, "e", Base64UrlEncode(std::string("\x01\x00\x00", 3))), true,
       "exponent"},
      {"RsaExponentHuge", with(rsa, "e", Base64UrlEncode(std::string(40, '\x01'))), true,
       "exponent"},
      {"RsaNoModulus", without(rsa, "n"), true, "n is missing"},
      {"RsaModulusNotString", with(rsa, "n", 5), true, "n is not a string"},
      {"RsaModulusPadded", with(rsa, "n", rsa["n"].get<std::string>() + "="), true, "base64url"},
      {"EcPointNotOnCurve", with(ec, "y", Base64UrlEncode(y)), true, "EC"},
      {"EcShortX", with(ec, "x", Base64UrlEncode(Decoded(ec, "x").substr(1))), true, "32 bytes"},
      {"EcNoCrv", without(ec, "crv"), true, "crv is missing"},
      {"EcP384", with(ec, "crv", "P-384"), false, "P-256"},
      {"UseEnc", with(rsa, "use", "enc"), false, "use is not sig"},
      {"UseNotString", with(rsa, "use", 1), true, "use is not a string"},
      {"OctKey", Json{{"kty", "oct"}, {"kid", "h"}, {"k", "c2VjcmV0"}}, false, "kty"},
      {"NoKty", without(rsa, "kty"), true, "kty is missing"},
      {"NoKid", without(rsa, "kid"), true, "kid is missing"},
      {"EmptyKid", with(rsa, "kid", ""), true, "kid is missing"},
      {"NotAnObject", Json("key"), true, "not an object"},
  };
}

TEST(ParseJwksTest, UnusableKeysAreSkippedAndReported) {
  for (const SkipCase& c : SkipCases()) {
    SCOPED_TRACE(c.name);
    // Each bad key sits between two good ones, which must survive it.
    absl::StatusOr<JwkSet> set =
        ParseJwks(JwksJson({GetKeys().rsa3072.Jwk(), c.jwk, GetKeys().ec.Jwk()}));
    ASSERT_THAT(set, IsOk());
    EXPECT_EQ(set->keys.size(), 2u);
    EXPECT_EQ(set->skipped_malformed, c.malformed ? 1u : 0u);
    EXPECT_EQ(set->skipped_unsupported, c.malformed ? 0u : 1u);
    ASSERT_EQ(set->notes.size(), 1u);
    EXPECT_THAT(set->notes[0], HasSubstr("key 1"));
    EXPECT_THAT(set->notes[0], HasSubstr(c.message));
  }
}

TEST(ParseJwksTest, DuplicateKidKeepsTheFirstKey) {
  Json second = GetKeys().rsa3072.Jwk();
  second["kid"] = "rsa-1";
  absl::StatusOr<JwkSet> set = ParseJwks(JwksJson({GetKeys().rsa.Jwk(), second}));
  ASSERT_THAT(set, IsOk());
  ASSERT_EQ(set->keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(set->keys[0].key.get(), GetKeys().rsa.pkey()), 1);
  EXPECT_EQ(set->skipped_duplicates, 1u);
  EXPECT_THAT(set->notes, ElementsAre(HasSubstr("duplicate kid")));
}

TEST(ParseJwksTest, NotesEscapeTheKid) {
  Json jwk = GetKeys().weak.Jwk();
  jwk["kid"] = std::string("a\nb") + std::string(100, 'z');
  JwkSet set = ParseOne(jwk);
  ASSERT_EQ(set.notes.size(), 1u);
  EXPECT_THAT(set.notes[0], HasSubstr("a\\nb"));
  EXPECT_THAT(set.notes[0], Not(HasSubstr(std::string(64, 'z'))));
}

TEST(ParseJwksTest, EmptyKeysArrayGivesAnEmptySet) {
  absl::StatusOr<JwkSet> set = ParseJwks(R"({"keys":[]})");
  ASSERT_THAT(set, IsOk());
  EXPECT_THAT(set->keys, IsEmpty());
}

TEST(ParseJwksTest, BadDocumentsAreErrors) {
  std::vector<Json> many(101, Json::object());
  JwksLimits small;
  small.max_bytes = 100;
  struct {
    const char* name;
    std::string json;
    JwksLimits limits;
    const char* message;
  } cases[] = {
      {"NotJson", "{keys:[]}", {}, "not valid JSON"},
      {"Empty", "", {}, "not valid JSON"},
      {"Array", "[]", {}, "not a JSON object"},
      {"NoKeys", R"({"other":[]})", {}, "no keys array"},
      {"KeysNotArray", R"({"keys":{}})", {}, "no keys array"},
      {"DuplicateKeys", R"({"keys":[],"keys":[]})", {}, "duplicate key"},
      {"TooManyKeys", JwksJson(many), {}, "more than 100 keys"},
      {"TooLarge", JwksJson({GetKeys().rsa.Jwk()}), small, "larger than 100 bytes"},
      {"TooDeep", R"({"keys":[[[[[[[[[]]]]]]]]]})", {}, "nested too deeply"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ParseJwks(c.json, c.limits),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

TEST(ParseDiscoveryTest, ReadsIssuerAndJwksUri) {
  absl::StatusOr<DiscoveryDocument> doc =
      ParseDiscovery(R"({"token_endpoint":"https://login.microsoftonline.com/common/oauth2/token",)"
                     R"("jwks_uri":"https://login.microsoftonline.com/common/discovery/keys",)"
                     R"("response_types_supported":["code","id_token"],)"
                     R"("issuer":"https://sts.windows.net/{tenantid}/"})");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->issuer, "https://sts.windows.net/{tenantid}/");
  EXPECT_EQ(doc->jwks_uri, "https://login.microsoftonline.com/common/discovery/keys");
}

TEST(ParseDiscoveryTest, BadDocumentsAreErrors) {
  const std::string big = absl::StrCat(R"({"issuer":"i","jwks_uri":"http://h/k","x":")",
                                       std::string(70 * 1024, 'a'), "\"}");
  struct {
    const char* name;
    std::string json;
    const char* message;
  } cases[] = {
      {"NotJson", "<html>", "not valid JSON"},
      {"NoIssuer", R"({"jwks_uri":"https://h/keys"})", "no issuer"},
      {"EmptyIssuer", R"({"issuer":"","jwks_uri":"https://h/keys"})", "no issuer"},
      {"IssuerNotString", R"({"issuer":1,"jwks_uri":"https://h/keys"})", "not a string"},
      {"NoJwksUri", R"({"issuer":"i"})", "no jwks_uri"},
      {"FtpJwksUri", R"({"issuer":"i","jwks_uri":"ftp://h/keys"})", "jwks_uri"},
      {"RelativeJwksUri", R"({"issuer":"i","jwks_uri":"/keys"})", "jwks_uri"},
      {"DuplicateIssuer", R"({"issuer":"a","issuer":"b","jwks_uri":"https://h/k"})", "duplicate"},
      {"TooLarge", big, "larger than 65536 bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ParseDiscovery(c.json),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

}  // namespace
}  // namespace tokend
