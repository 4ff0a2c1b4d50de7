// URL building blocks: percent-encoding and query strings (RFC 3986). Pure; thread-safe.
#ifndef TOKEND_SERVICE_CORE_URL_ENCODING_H_
#define TOKEND_SERVICE_CORE_URL_ENCODING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

// Returns `s` with every byte outside RFC 3986's unreserved set (ALPHA DIGIT - . _ ~) written
// as %XX (upper-case hex). Safe for query keys and values and for path segments.
std::string PercentEncode(absl::string_view s);

// Appends PercentEncode(s) to `out`, reserving room for the worst case first, so that no
// encoded byte is ever left in a buffer `out` gives up: for secrets appended to a buffer that
// is wiped when released.
void AppendPercentEncoded(absl::string_view s, std::string* out);

// Returns "k1=v1&k2=v2..." with keys and values percent-encoded, in the order given.
std::string BuildQuery(const std::vector<std::pair<std::string, std::string>>& params);

// The parts of an absolute http(s) URL, as far as tokend needs them.
struct ParsedUrl {
  std::string scheme;          // "http" or "https", lower-case.
  std::string host;            // Without brackets for IPv6, lower-case.
  int port = 0;                // 0 when absent.
  std::string path_and_query;  // Everything after the authority, e.g. "/cb?x=1"; may be empty.
};

// Parses an absolute http or https URL. INVALID_ARGUMENT (without quoting the URL) for anything
// else: other schemes, relative URLs, user info, fragments, whitespace or control characters.
absl::StatusOr<ParsedUrl> ParseHttpUrl(absl::string_view url);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_URL_ENCODING_H_
