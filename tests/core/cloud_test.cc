#include "service/core/cloud.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/consent_url.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOkAndHolds;
using ::testing::StartsWith;
using testing::StatusIs;

TEST(CloudTest, NamesAndAuthorityHosts) {
  const struct {
    const char* name;
    Cloud cloud;
    const char* host;
  } cases[] = {
      {"public", Cloud::kPublic, "https://login.microsoftonline.com"},
      {"usgov", Cloud::kUsGov, "https://login.microsoftonline.us"},
      {"china", Cloud::kChina, "https://login.partner.microsoftonline.cn"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    EXPECT_THAT(ParseCloud(test.name), IsOkAndHolds(test.cloud));
    EXPECT_STREQ(CloudName(test.cloud), test.name);
    EXPECT_EQ(CloudAuthorityHost(test.cloud), test.host);
    EXPECT_TRUE(IsCloudAuthority(CloudAuthorityHost(test.cloud)));
  }
  for (const char* bad : {"", "Public", "germany", "azurecloud"}) {
    EXPECT_THAT(ParseCloud(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("must be public, usgov or china")));
  }
}

TEST(CloudTest, ConsentLinksUseTheCloudsHost) {
  ConsentRequest request;
  request.kind = ConsentKind::kV1AdminConsent;
  request.tenant_id = "contoso.onmicrosoft.us";
  EXPECT_THAT(BuildConsentUrl(request, "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                              CloudAuthorityHost(Cloud::kUsGov)),
              IsOkAndHolds(StartsWith("https://login.microsoftonline.us/contoso.onmicrosoft.us/"
                                      "oauth2/authorize?prompt=admin_consent&")));
  EXPECT_THAT(BuildConsentUrl(request, "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                              CloudAuthorityHost(Cloud::kChina)),
              IsOkAndHolds(StartsWith("https://login.partner.microsoftonline.cn/")));
}

TEST(CloudTest, CloudAuthoritiesAndAliases) {
  for (const char* yes : {"https://login.microsoftonline.com", "https://login.microsoft.com",
                          "https://login.windows.net", "https://sts.windows.net",
                          "https://LOGIN.MICROSOFTONLINE.US", "https://login.chinacloudapi.cn"}) {
    EXPECT_TRUE(IsCloudAuthority(yes)) << yes;
  }
  for (const char* no :
       {"http://127.0.0.1:8080", "https://login.microsoftonline.com/tenant",
        "https://login.microsoftonline.com:443", "http://login.microsoftonline.com",
        "https://login.example.com", "https://westus2.login.microsoft.com", ""}) {
    EXPECT_FALSE(IsCloudAuthority(no)) << no;
  }
}

TEST(CloudTest, RegionNames) {
  for (const char* yes : {"westus2", "eastus", "chinanorth3", "usgovvirginia", "uk"}) {
    EXPECT_TRUE(IsRegionName(yes)) << yes;
  }
  for (const char* no : {"", "w", "West US 2", "westus2.", "2westus", "west-us",
                         "westus2.evil.example", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_FALSE(IsRegionName(no)) << no;
  }
}

TEST(CloudTest, RegionalAuthorityFollowsMsal) {
  const struct {
    const char* authority;
    const char* region;
    const char* want;
  } cases[] = {
      {"https://login.microsoftonline.com", "westus2", "https://westus2.login.microsoft.com"},
      {"https://login.windows.net", "eastus", "https://eastus.login.microsoft.com"},
      {"https://login.microsoftonline.us", "usgovvirginia",
       "https://usgovvirginia.login.microsoftonline.us"},
      {"https://login.partner.microsoftonline.cn", "chinanorth3",
       "https://chinanorth3.login.partner.microsoftonline.cn"},
      {"https://login.microsoftonline.com", "", "https://login.microsoftonline.com"},
      // Not a cloud authority (a local identity provider, a path): left alone.
      {"http://127.0.0.1:8080", "westus2", "http://127.0.0.1:8080"},
      {"https://login.microsoftonline.com/x", "westus2", "https://login.microsoftonline.com/x"},
  };
  for (const auto& test : cases) {
    EXPECT_EQ(RegionalAuthority(test.authority, test.region), test.want)
        << test.authority << " in " << test.region;
  }
}

}  // namespace
}  // namespace tokend
