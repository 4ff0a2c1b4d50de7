#include "tests/devidp/base64url.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"

namespace tokend {
namespace devidp {

std::string Base64UrlEncode(absl::string_view data) { return absl::WebSafeBase64Escape(data); }

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded) {
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(encoded, &decoded)) {
    return absl::InvalidArgumentError("malformed base64url");
  }
  return decoded;
}

std::string Base64Encode(absl::string_view data) { return absl::Base64Escape(data); }

absl::StatusOr<std::string> Base64Decode(absl::string_view encoded) {
  std::string decoded;
  if (!absl::Base64Unescape(encoded, &decoded)) {
    return absl::InvalidArgumentError("malformed base64");
  }
  return decoded;
}

}  // namespace devidp
}  // namespace tokend
