#include "service/core/base64url.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
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
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9"), std::nullopt);  // Non-zero trailing bits after 2 bytes.
  // A bad character anywhere: first or last of a full group, or in the tail.
  EXPECT_EQ(Base64UrlDecode("*m9vYmFy"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9vYmF*"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9vY*"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode(std::string("Zm9\0", 4)), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9\xff"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9v\xc3\xa9"), std::nullopt);
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string data;
  for (int n = 0; n < 300; ++n) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(data)), data) << n;
    data += static_cast<char>(n * 97 + 13);  // Every byte value, in no particular order.
  }
}

// Decodes one character at a time: slow and obviously right.
std::optional<std::string> ReferenceDecode(absl::string_view encoded) {
  constexpr absl::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (encoded.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : encoded) {
    const size_t v = kAlphabet.find(c);
    if (v == absl::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

TEST(Base64UrlTest, MatchesReferenceOnAllShortInputs) {
  // Every string of up to 5 characters (a full group and a tail) over valid and invalid ones.
  const std::string chars = std::string("AQgw_-9=+/ \xff", 12) + std::string(1, '\0');
  std::vector<std::string> inputs = {""};
  for (size_t begin = 0, length = 0; length < 5; ++length) {
    const size_t end = inputs.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : chars) inputs.push_back(inputs[i] + c);
    }
    begin = end;
  }
  for (const std::string& input : inputs) {
    ASSERT_EQ(Base64UrlDecode(input), ReferenceDecode(input)) << absl::CHexEscape(input);
  }
}

}  // namespace
}  // namespace tokend
