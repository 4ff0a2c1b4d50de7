#include "service/core/base64url.h"

#include <array>
#include <cstdint>

namespace tokend {
namespace {

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Encode(absl::string_view data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out += "=";
  }
  return out;
}

// kDecode[k][c] is the 6-bit value of base64url character c placed where the k-th character of
// a group of 4 goes in the group's 24 bits; kInvalid, a bit above those, for every other byte.
constexpr uint32_t kInvalid = 1u << 24;
constexpr std::array<std::array<uint32_t, 256>, 4> kDecode = [] {
  std::array<std::array<uint32_t, 256>, 4> decode{};
  for (int k = 0; k < 4; ++k) {
    for (auto& bits : decode[k]) bits = kInvalid;
    for (uint32_t v = 0; v < 64; ++v) {
      decode[k][static_cast<uint8_t>(kUrlAlphabet[v])] = v << (18 - 6 * k);
    }
  }
  return decode;
}();

}  // namespace

std::string Base64UrlEncode(absl::string_view data) { return Encode(data, kUrlAlphabet, false); }

std::string Base64Encode(absl::string_view data) { return Encode(data, kStdAlphabet, true); }

std::optional<std::string> Base64UrlDecode(absl::string_view encoded) {
  const size_t tail = encoded.size() % 4;  // Characters after the last full group of 4.
  if (tail == 1) return std::nullopt;
  std::string out(encoded.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(encoded.data());
  char* o = out.data();
  uint32_t seen = 0;  // The OR of all groups, to look for kInvalid once.
  size_t i = 0;
  for (; i + 4 <= encoded.size(); i += 4, o += 3) {
    const uint32_t bits =
        kDecode[0][in[i]] | kDecode[1][in[i + 1]] | kDecode[2][in[i + 2]] | kDecode[3][in[i + 3]];
    seen |= bits;
    o[0] = static_cast<char>(bits >> 16);
    o[1] = static_cast<char>(bits >> 8);
    o[2] = static_cast<char>(bits);
  }
  // The bits after the last whole byte must be zero: "QQ" decodes, "QR" (same byte, other bits)
  // does not, so each value has one encoding only.
  uint32_t leftover = 0;
  if (tail == 2) {
    const uint32_t bits = kDecode[0][in[i]] | kDecode[1][in[i + 1]];
    seen |= bits;
    leftover = bits & 0xFFFF;
    o[0] = static_cast<char>(bits >> 16);
  } else if (tail == 3) {
    const uint32_t bits = kDecode[0][in[i]] | kDecode[1][in[i + 1]] | kDecode[2][in[i + 2]];
    seen |= bits;
    leftover = bits & 0xFF;
    o[0] = static_cast<char>(bits >> 16);
    o[1] = static_cast<char>(bits >> 8);
  }
  if ((seen & kInvalid) != 0 || leftover != 0) return std::nullopt;
  return out;
}

}  // namespace tokend
