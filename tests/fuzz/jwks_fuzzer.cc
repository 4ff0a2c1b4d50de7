// libFuzzer target: the JWKS and OpenID discovery parsers on arbitrary bytes (what a hostile
// or broken identity provider could answer).
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/core/jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<tokend::JwkSet> keys = tokend::ParseJwks(input);
  if (keys.ok()) {
    for (const tokend::Jwk& key : keys->keys) {
      if (key.kid.empty() || key.key == nullptr) __builtin_trap();
    }
  }
  (void)tokend::ParseDiscovery(input);
  return 0;
}
