// libFuzzer target: ParseJwt and StripBearer on arbitrary bytes. The parser must never crash,
// leak, read out of bounds or take unbounded time, whatever the token.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/core/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<tokend::Jwt> jwt = tokend::ParseJwt(tokend::StripBearer(input));
  if (jwt.ok()) {
    // A parsed token is internally consistent.
    if (jwt->alg.empty()) __builtin_trap();
  }
  return 0;
}
