#include "service/adapters/federated_token_file.h"

#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/core/token_fetcher.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kAudience[] = "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

// A token shaped like a projected service-account token (the signature is not checked here).
std::string ServiceAccountToken(absl::Time expires, const std::string& jti) {
  nlohmann::json payload = {{"aud", {"api://AzureADTokenExchange"}},
                            {"exp", absl::ToUnixSeconds(expires)},
                            {"iat", absl::ToUnixSeconds(expires - absl::Hours(1))},
                            {"iss", "https://oidc.example.test"},
                            {"jti", jti},
                            {"nbf", absl::ToUnixSeconds(expires - absl::Hours(1))},
                            {"sub", "system:serviceaccount:apps:example"}};
  return testing::AssembleToken(R"({"alg":"RS256","kid":"k1"})", payload.dump(),
                                "not-a-real-signature-at-all");
}

class FederatedTokenFileTest : public ::testing::Test {
 protected:
  std::string Folder() const { return dir_.path() + "/azure-identity"; }
  std::string Path() const { return Folder() + "/azure-identity-token"; }

  // Returns true iff the file yields exactly `token` at `now`; never prints a token.
  bool Yields(FederatedTokenFile& file, const std::string& token, absl::Time now = kNow) {
    absl::StatusOr<SecretString> got = file.Assertion(kClientId, kAudience, now);
    EXPECT_THAT(got, IsOk());
    return got.ok() && got->Reveal() == token;
  }

  testing::TempDir dir_;
};

TEST_F(FederatedTokenFileTest, ReadsTheTokenWithoutItsTrailingNewline) {
  const std::string token = ServiceAccountToken(kNow + absl::Hours(1), "one");
  ASSERT_THAT(testing::WriteSecretVolume(Folder(), {{"azure-identity-token", token + "\n"}}),
              IsOk());
  FederatedTokenFile file(Path());
  EXPECT_TRUE(Yields(file, token));
  EXPECT_EQ(file.Describe(), absl::StrCat("federated token file ", Path()));
}

TEST_F(FederatedTokenFileTest, ReReadsTheTokenWhenTheKubeletReplacesIt) {
  const std::string first = ServiceAccountToken(kNow + absl::Hours(1), "one");
  const std::string second = ServiceAccountToken(kNow + absl::Hours(2), "two");
  const std::string third = ServiceAccountToken(kNow + absl::Hours(3), "three");
  ASSERT_THAT(testing::WriteSecretVolume(Folder(), {{"azure-identity-token", first}}), IsOk());
  FederatedTokenFile file(Path());
  EXPECT_TRUE(Yields(file, first));
  EXPECT_TRUE(Yields(file, first)) << "unchanged file, same token";
  // The kubelet's atomic writer: a new timestamped folder and a ..data swap.
  ASSERT_THAT(testing::UpdateSecretVolume(Folder(), {{"azure-identity-token", second}}), IsOk());
  EXPECT_TRUE(Yields(file, second));
  // A plain file rewritten in place is seen too.
  const std::string plain = dir_.path() + "/plain-token";
  ASSERT_THAT(testing::WriteFile(plain, first), IsOk());
  FederatedTokenFile plain_file(plain);
  EXPECT_TRUE(Yields(plain_file, first));
  ASSERT_THAT(testing::WriteFile(plain, third), IsOk());
  EXPECT_TRUE(Yields(plain_file, third));
}

TEST_F(FederatedTokenFileTest, MissingFileFailsNamingTheVariableAndWorksOnceWritten) {
  FederatedTokenFile file(Path());
  EXPECT_THAT(file.Assertion(kClientId, kAudience, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("AZURE_FEDERATED_TOKEN_FILE \"", Path(),
                                              "\": does not exist (is the projected "
                                              "service-account token volume mounted?)"))));
  const std::string token = ServiceAccountToken(kNow + absl::Hours(1), "late");
  ASSERT_THAT(testing::WriteSecretVolume(Folder(), {{"azure-identity-token", token}}), IsOk());
  EXPECT_TRUE(Yields(file, token));
}

TEST_F(FederatedTokenFileTest, ExpiryBoundary) {
  const std::string token = ServiceAccountToken(kNow, "boundary");
  ASSERT_THAT(testing::WriteSecretVolume(Folder(), {{"azure-identity-token", token}}), IsOk());
  FederatedTokenFile file(Path());
  EXPECT_TRUE(Yields(file, token, kNow - absl::Seconds(1)));
  EXPECT_THAT(file.Assertion(kClientId, kAudience, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("the token expired at 2027-01-15T08:00:00Z")));
}

TEST_F(FederatedTokenFileTest, BadContentFailsSayingWhyWithoutQuotingIt) {
  struct Case {
    const char* name;
    std::string content;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "is empty"},
      {"whitespace", " \n", "is empty"},
      {"not a JWT", "secret-looking-but-not-a-jwt", "does not hold a service-account token"},
      {"too large", std::string(64 * 1024 + 1, 'x'), "is larger than 65536 bytes"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    const std::string path = absl::StrCat(dir_.path(), "/", test.name);
    ASSERT_THAT(testing::WriteFile(path, test.content), IsOk());
    absl::StatusOr<SecretString> got =
        FederatedTokenFile(path).Assertion(kClientId, kAudience, kNow);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(test.message)));
    EXPECT_FALSE(absl::StrContains(got.status().message(), "secret-looking"));
  }
  ASSERT_EQ(mkdir((dir_.path() + "/folder").c_str(), 0700), 0);
  EXPECT_THAT(FederatedTokenFile(dir_.path() + "/folder").Assertion(kClientId, kAudience, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a regular file")));
}

// The value of form field `name` in `body` (undecoded), or "" if absent.
std::string FormField(absl::string_view body, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    if (absl::ConsumePrefix(&pair, absl::StrCat(name, "="))) return std::string(pair);
  }
  return "";
}

TEST_F(FederatedTokenFileTest, TokenRequestsSendTheTokenTheFileHoldsAtTheTime) {
  testing::FakeClock clock(kNow);
  testing::FakeHttpClient http;
  TokenFetcher fetcher(http, clock, "https://login.microsoftonline.com");
  Credential credential;
  credential.name = "workload-identity";
  credential.kind = CredentialKind::kWorkloadIdentity;
  credential.tenant_id = "contoso.com";
  credential.client_id = kClientId;
  credential.assertion = std::make_shared<FederatedTokenFile>(Path());
  const std::string first = ServiceAccountToken(kNow + absl::Hours(1), "one");
  const std::string second = ServiceAccountToken(kNow + absl::Hours(2), "two");
  ASSERT_THAT(testing::WriteSecretVolume(Folder(), {{"azure-identity-token", first}}), IsOk());
  const TokenTarget target{{"api://tokend-test/.default"}, ""};
  const std::string reply = R"({"token_type":"Bearer","expires_in":3599,"access_token":"t"})";
  http.Push(200, reply);
  ASSERT_THAT(fetcher.Fetch(credential, "contoso.com", target), IsOk());
  ASSERT_THAT(testing::UpdateSecretVolume(Folder(), {{"azure-identity-token", second}}), IsOk());
  clock.Advance(absl::Minutes(50));  // The kubelet rotated the token; the first one nears expiry.
  http.Push(200, reply);
  ASSERT_THAT(fetcher.Fetch(credential, "contoso.com", target), IsOk());
  std::vector<HttpRequest> requests = http.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(FormField(requests[0].body.Reveal(), "client_assertion") == first);
  EXPECT_TRUE(FormField(requests[1].body.Reveal(), "client_assertion") == second);
}

}  // namespace
}  // namespace tokend
