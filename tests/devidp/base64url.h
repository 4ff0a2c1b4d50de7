// Base64 helpers for JOSE (RFC 7515 base64url, unpadded) and for X.509 x5c / HTTP Basic
// (RFC 4648 standard base64, padded). Pure functions, safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_BASE64URL_H_
#define TOKEND_TESTS_DEVIDP_BASE64URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {
namespace devidp {

// Returns the unpadded base64url encoding of `data`.
std::string Base64UrlEncode(absl::string_view data);

// Decodes base64url with or without padding. Returns InvalidArgument on bad input.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded);

// Returns the padded standard base64 encoding of `data`.
std::string Base64Encode(absl::string_view data);

// Decodes padded standard base64. Returns InvalidArgument on bad input.
absl::StatusOr<std::string> Base64Decode(absl::string_view encoded);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_BASE64URL_H_
