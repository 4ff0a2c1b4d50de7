#include "service/core/consent_url.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kAuthority[] = "https://login.microsoftonline.com";
constexpr char kTenant[] = "11111111-2222-3333-4444-555555555555";

ConsentRequest Request(ConsentKind kind, std::string tenant = "", std::string redirect = "",
                       std::string state = "", std::vector<std::string> scopes = {}) {
  ConsentRequest request;
  request.kind = kind;
  request.tenant_id = std::move(tenant);
  request.redirect_uri = std::move(redirect);
  request.state = std::move(state);
  request.scopes = std::move(scopes);
  return request;
}

struct GoodCase {
  const char* name;
  ConsentRequest request;
  const char* authority;
  const char* want;
};

TEST(ConsentUrlTest, BuildsEveryKind) {
  const GoodCase cases[] = {
      {"seed link, exactly as the Defender guide writes it", Request(ConsentKind::kV1Consent),
       kAuthority,
       "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id="
       "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code&sso_reload=true"},
      {"v1 consent in a tenant with redirect and state",
       Request(ConsentKind::kV1Consent, kTenant, "https://portal.azure.com", "xyz"), kAuthority,
       "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/"
       "authorize?prompt=consent&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type="
       "code&sso_reload=true&redirect_uri=https%3A%2F%2Fportal.azure.com&state=xyz"},
      {"v1 admin consent by domain",
       Request(ConsentKind::kV1AdminConsent, "contoso.onmicrosoft.com"), kAuthority,
       "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/authorize?prompt="
       "admin_consent&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code"},
      {"v2 admin consent defaults to organizations and encodes the scope",
       Request(ConsentKind::kV2AdminConsent, "", "https://app.example.com/cb?x=1&y=2", "a b&c",
               {"https://api.securitycenter.microsoft.com/.default"}),
       kAuthority,
       "https://login.microsoftonline.com/organizations/v2.0/adminconsent?client_id=aaaaaaaa-"
       "aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F."
       "default&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Fx%3D1%26y%3D2&state=a%20b%26c"},
      {"v2 with two scopes joins them with a space",
       Request(ConsentKind::kV2AdminConsent, kTenant, "", "", {"api://a/.default", "api://b/x"}),
       kAuthority,
       "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0/"
       "adminconsent?client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope=api%3A%2F%2Fa%2F."
       "default%20api%3A%2F%2Fb%2Fx"},
      {"US Gov authority host", Request(ConsentKind::kV1AdminConsent, kTenant),
       "https://login.microsoftonline.us",
       "https://login.microsoftonline.us/11111111-2222-3333-4444-555555555555/oauth2/authorize?"
       "prompt=admin_consent&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code"},
      {"local identity provider, http on loopback redirect",
       Request(ConsentKind::kV1Consent, "", "http://localhost:8080/cb"), "http://127.0.0.1:9999",
       "http://127.0.0.1:9999/common/oauth2/authorize?prompt=consent&client_id=aaaaaaaa-aaaa-"
       "aaaa-aaaa-aaaaaaaaaaaa&response_type=code&sso_reload=true&redirect_uri=http%3A%2F%2F"
       "localhost%3A8080%2Fcb"},
      {"organizations for v1", Request(ConsentKind::kV1Consent, "organizations"), kAuthority,
       "https://login.microsoftonline.com/organizations/oauth2/authorize?prompt=consent&"
       "client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code&sso_reload=true"},
      {"unicode state is UTF-8 percent-encoded",
       Request(ConsentKind::kV1AdminConsent, kTenant, "", "\xC3\xA9t\xC3\xA9"), kAuthority,
       "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/authorize?"
       "prompt=admin_consent&client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code&"
       "state=%C3%A9t%C3%A9"},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::string> url = BuildConsentUrl(c.request, kClientId, c.authority);
    ASSERT_THAT(url, IsOk());
    EXPECT_EQ(*url, c.want);
  }
}

struct BadCase {
  const char* name;
  ConsentRequest request;
  const char* field;  // The field the message must name.
};

TEST(ConsentUrlTest, RejectsBadRequestsNamingTheField) {
  const BadCase cases[] = {
      {"tenant with a slash", Request(ConsentKind::kV1Consent, "contoso/../x"), "tenant_id"},
      {"tenant with a space", Request(ConsentKind::kV1Consent, "con toso.com"), "tenant_id"},
      {"tenant that is one label", Request(ConsentKind::kV1Consent, "contoso"), "tenant_id"},
      {"tenant GUID too short",
       Request(ConsentKind::kV1Consent, "11111111-2222-3333-4444-55555555555"), "tenant_id"},
      {"common for v2",
       Request(ConsentKind::kV2AdminConsent, "common", "", "", {"api://a/.default"}), "tenant_id"},
      {"relative redirect", Request(ConsentKind::kV1Consent, "", "/callback"), "redirect_uri"},
      {"http redirect to a public host",
       Request(ConsentKind::kV1Consent, "", "http://app.example.com/cb"), "redirect_uri"},
      {"javascript redirect", Request(ConsentKind::kV1Consent, "", "javascript:alert(1)"),
       "redirect_uri"},
      {"redirect with a fragment",
       Request(ConsentKind::kV1Consent, "", "https://app.example.com/cb#frag"), "redirect_uri"},
      {"redirect with user info",
       Request(ConsentKind::kV1Consent, "", "https://user:pw@app.example.com/"), "redirect_uri"},
      {"redirect with a space", Request(ConsentKind::kV1Consent, "", "https://a b.com/"),
       "redirect_uri"},
      {"redirect with a bad port",
       Request(ConsentKind::kV1Consent, "", "https://app.example.com:99999/"), "redirect_uri"},
      {"v2 without a scope", Request(ConsentKind::kV2AdminConsent, kTenant), "scopes"},
      {"v2 with an empty scope", Request(ConsentKind::kV2AdminConsent, kTenant, "", "", {""}),
       "scopes"},
      {"v2 with a scope holding a space",
       Request(ConsentKind::kV2AdminConsent, kTenant, "", "", {"a b"}), "scopes"},
      {"v1 with scopes", Request(ConsentKind::kV1Consent, kTenant, "", "", {"api://a/.default"}),
       "scopes"},
      {"state too long", Request(ConsentKind::kV1Consent, "", "", std::string(5000, 'x')), "state"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::string> url = BuildConsentUrl(c.request, kClientId, kAuthority);
    EXPECT_THAT(
        url, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(c.field) + ":")));
  }
}

TEST(ConsentUrlTest, ErrorsDoNotQuoteTheRejectedValue) {
  const std::string marker = "https://user:SENSITIVE@app.example.com/";
  absl::StatusOr<std::string> url =
      BuildConsentUrl(Request(ConsentKind::kV1Consent, "", marker), kClientId, kAuthority);
  ASSERT_THAT(url, Not(IsOk()));
  EXPECT_THAT(std::string(url.status().message()), Not(HasSubstr("SENSITIVE")));
}

TEST(ConsentUrlTest, AcceptsLoopbackHttpRedirects) {
  for (const char* redirect :
       {"http://localhost/cb", "http://127.0.0.1:8400/", "http://[::1]:80/x"}) {
    SCOPED_TRACE(redirect);
    EXPECT_THAT(
        BuildConsentUrl(Request(ConsentKind::kV1Consent, "", redirect), kClientId, kAuthority),
        IsOk());
  }
}

}  // namespace
}  // namespace tokend
