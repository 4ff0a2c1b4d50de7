#include "tests/devidp/guid.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "tests/devidp/base64url.h"

namespace tokend {
namespace devidp {
namespace {

std::string FormatGuid(std::array<uint8_t, 16> bytes, uint8_t version) {
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | (version << 4));
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0F]);
  }
  return out;
}

void FillRandom(uint8_t* data, size_t size) {
  // RAND_bytes only fails when the CSPRNG cannot be seeded; a dev tool cannot go on then.
  if (RAND_bytes(data, static_cast<int>(size)) != 1) std::abort();
}

}  // namespace

std::string RandomGuid() {
  std::array<uint8_t, 16> bytes;
  FillRandom(bytes.data(), bytes.size());
  return FormatGuid(bytes, 4);
}

std::string DeterministicGuid(absl::string_view name) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const uint8_t*>(name.data()), name.size(), digest.data());
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = digest[i];
  return FormatGuid(bytes, 5);
}

bool IsGuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) return false;
  }
  return true;
}

std::string RandomBase64UrlId(size_t length) {
  std::string bytes(length, '\0');
  FillRandom(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  return Base64UrlEncode(bytes);
}

}  // namespace devidp
}  // namespace tokend
