// A parsed client-credentials token request (v1 or v2 endpoint): form fields plus client
// authentication from the body or HTTP Basic (RFC 6749 section 2.3.1). Pure parsing; no
// directory lookups. Safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_TOKEN_REQUEST_H_
#define TOKEND_TESTS_DEVIDP_TOKEN_REQUEST_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace tokend {
namespace devidp {

enum class TokenEndpoint {
  kV1,  // /{tenant}/oauth2/token: `resource`, numbers as strings.
  kV2,  // /{tenant}/oauth2/v2.0/token: `scope`, numbers as numbers.
};

// How the client authenticated. Assertions (certificate / workload identity federation) are
// parsed so that a later version can verify them.
struct ClientCredential {
  enum class Kind { kNone, kSecret, kAssertion };
  Kind kind = Kind::kNone;
  std::string secret;          // kSecret: the client secret. Never log or echo it.
  std::string assertion_type;  // kAssertion: client_assertion_type.
  std::string assertion;       // kAssertion: the JWT.
};

struct TokenRequest {
  TokenEndpoint endpoint = TokenEndpoint::kV2;
  std::string tenant;  // Path segment as sent: GUID, domain, common, organizations...
  absl::optional<std::string> grant_type;
  absl::optional<std::string> client_id;  // From the body, else from HTTP Basic.
  absl::optional<std::string> scope;
  absl::optional<std::string> resource;
  ClientCredential credential;
  std::string malformed;  // Non-empty: why the request cannot be parsed (no secrets in it).
};

// Parses the form `body` and the `authorization` header value (may be empty) of a request to
// `endpoint` for `tenant`. Problems are reported in TokenRequest::malformed: an undecodable
// body or Basic header, more than one client authentication method, or a Basic client id that
// differs from the body's.
TokenRequest ParseTokenRequest(TokenEndpoint endpoint, absl::string_view tenant,
                               absl::string_view body, absl::string_view authorization);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_TOKEN_REQUEST_H_
