#include "service/core/base64url.h"

#include "gtest/gtest.h"

namespace tokend {
namespace {

TEST(Base64UrlTest, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    EXPECT_EQ(Base64UrlDecode(encoded), std::string(plain));
  }
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
}

TEST(Base64UrlTest, UsesTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64UrlTest, RejectsNonCanonicalInput) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);  // Padding.
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);     // Impossible length.
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);    // Non-zero trailing bits.
  EXPECT_EQ(Base64UrlDecode("+/8"), std::nullopt);   // Standard alphabet.
  EXPECT_EQ(Base64UrlDecode("Zm 9v"), std::nullopt);
}

}  // namespace
}  // namespace tokend
