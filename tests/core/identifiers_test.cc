#include "service/core/identifiers.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

TEST(IdentifiersTest, Guids) {
  EXPECT_TRUE(IsGuid("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"));
  EXPECT_TRUE(IsGuid("FC780465-2017-40d4-a0c5-307022471b92"));
  EXPECT_FALSE(IsGuid(""));
  EXPECT_FALSE(IsGuid("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa"));    // One short.
  EXPECT_FALSE(IsGuid("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaaa"));  // One long.
  EXPECT_FALSE(IsGuid("aaaaaaaaaaaaa-aaaa-aaaa-aaaaaaaaaaaa"));   // Dashes misplaced.
  EXPECT_FALSE(IsGuid("gaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"));   // Not hex.
  EXPECT_FALSE(IsGuid("{aaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa}"));
}

TEST(IdentifiersTest, TenantIds) {
  EXPECT_TRUE(IsTenantId("contoso.onmicrosoft.com"));
  EXPECT_TRUE(IsTenantId("a-b.example"));
  EXPECT_TRUE(IsTenantId("11111111-1111-1111-1111-111111111111"));
  EXPECT_FALSE(IsTenantId("common"));  // Not a specific tenant.
  EXPECT_FALSE(IsTenantId("contoso"));
  EXPECT_FALSE(IsTenantId("-contoso.com"));
  EXPECT_FALSE(IsTenantId("contoso..com"));
  EXPECT_FALSE(IsTenantId("contoso.com/"));
  EXPECT_FALSE(IsTenantId("1.2.3.4"));
  EXPECT_FALSE(IsTenantId("con toso.com"));
  EXPECT_FALSE(IsTenantId(std::string(300, 'a') + ".com"));
}

TEST(IdentifiersTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.example.com"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.256"));
}

TEST(IdentifiersTest, AuthorityHostsAreNormalised) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"https://login.microsoftonline.com", "https://login.microsoftonline.com"},
      {"https://login.microsoftonline.com/", "https://login.microsoftonline.com"},
      {"https://login.microsoftonline.com//", "https://login.microsoftonline.com"},
      {"https://LOGIN.microsoftonline.us/", "https://login.microsoftonline.us"},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
      {"http://localhost:1", "http://localhost:1"},
      {"http://[::1]:9000", "http://[::1]:9000"},
      {"https://adfs.example.com/adfs/", "https://adfs.example.com/adfs"},
      {"HTTPS://Login.MicrosoftOnline.com", "https://login.microsoftonline.com"},
      {"https://login.microsoftonline.com:443/", "https://login.microsoftonline.com:443"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<std::string> got = NormalizeAuthorityHost("--authority-host", c.in);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(*got, c.want);
  }
}

TEST(IdentifiersTest, AuthorityHostsRejected) {
  const char* cases[] = {
      "login.microsoftonline.com",         // No scheme.
      "http://login.microsoftonline.com",  // Plain http, not loopback.
      "ftp://login.microsoftonline.com",   // Other scheme.
      "https://",                          // No host.
      "https://login.microsoftonline.com?x=1",
      "https://login.microsoftonline.com#f",
      "https://user@login.microsoftonline.com",
      "https://login.microsoftonline.com:0",
      "https://login.microsoftonline.com:70000",
      "https://login.microsoft online.com",
      "https://bad_host!.com",
      "https://login.microsoftonline.com:+443",
      "https://login.microsoftonline.com:0443x",
      "https://[foo]",
      "https://12345",
      "https://adfs.example.com/a/../b",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    EXPECT_THAT(NormalizeAuthorityHost("--authority-host", c),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--authority-host: ")));
  }
}

}  // namespace
}  // namespace tokend
