#include "service/core/url_encoding.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using testing::IsOk;
using ::testing::Not;

TEST(UrlEncodingTest, AppendPercentEncodedAppendsWithoutReallocatingLater) {
  std::string out = "a=1&secret=";
  AppendPercentEncoded("s3 cr/t", &out);
  EXPECT_EQ(out, "a=1&secret=s3%20cr%2Ft");
  // The worst case (every byte encoded) was reserved before the first byte was written, so the
  // buffer that holds the secret is the one the caller wipes.
  std::string reserved = "x=";
  AppendPercentEncoded("ab", &reserved);
  EXPECT_GE(reserved.capacity(), std::string("x=").size() + 2 * 3);
}

TEST(UrlEncodingTest, PercentEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode(" /?#&=+%:@"), "%20%2F%3F%23%26%3D%2B%25%3A%40");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(UrlEncodingTest, BuildQueryKeepsOrder) {
  EXPECT_EQ(BuildQuery({{"b", "2"}, {"a", "x y"}, {"c&", ""}}), "b=2&a=x%20y&c%26=");
}

TEST(UrlEncodingTest, ParsesHttpUrls) {
  absl::StatusOr<ParsedUrl> url = ParseHttpUrl("HTTPS://Example.COM:8443/a/b?c=d");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path_and_query, "/a/b?c=d");

  url = ParseHttpUrl("http://[::1]/");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 0);

  url = ParseHttpUrl("https://example.com?x");
  ASSERT_THAT(url, IsOk());
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->path_and_query, "?x");
}

TEST(UrlEncodingTest, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* bad :
       {"", "/relative", "example.com", "mailto:a@b.c", "file:///etc/passwd", "https://",
        "https://a.com#x", "https://u@a.com", "https://a.com:x", "https://[::1", "https://a.com:0",
        "https://a .com", "https://a.com/\n"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseHttpUrl(bad), Not(IsOk()));
  }
}

}  // namespace
}  // namespace tokend
