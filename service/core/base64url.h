// Base64 for JOSE (RFC 7515: base64url without padding) and for HTTP Basic credentials
// (RFC 4648 standard alphabet, padded). Pure; thread-safe.
#ifndef TOKEND_SERVICE_CORE_BASE64URL_H_
#define TOKEND_SERVICE_CORE_BASE64URL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tokend {

// Unpadded base64url.
std::string Base64UrlEncode(absl::string_view data);

// Decodes unpadded base64url. nullopt for padding, characters outside the alphabet, an
// impossible length, or non-zero trailing bits (so each value has one encoding only).
std::optional<std::string> Base64UrlDecode(absl::string_view encoded);

// Padded standard base64.
std::string Base64Encode(absl::string_view data);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_BASE64URL_H_
