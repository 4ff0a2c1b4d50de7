#include "service/core/url_encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace tokend {

void AppendPercentEncoded(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->reserve(out->size() + s.size() * 3);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

std::string PercentEncode(absl::string_view s) {
  std::string out;
  AppendPercentEncoded(s, &out);
  return out;
}

std::string BuildQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(key);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

absl::StatusOr<ParsedUrl> ParseHttpUrl(absl::string_view url) {
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c >= 0x7f) {
      return absl::InvalidArgumentError("must not contain spaces or control characters");
    }
  }
  ParsedUrl parsed;
  absl::string_view rest = url;
  size_t colon = rest.find("://");
  if (colon == absl::string_view::npos) return absl::InvalidArgumentError("must be absolute");
  parsed.scheme = absl::AsciiStrToLower(rest.substr(0, colon));
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return absl::InvalidArgumentError("must be an http or https URL");
  }
  rest.remove_prefix(colon + 3);
  if (rest.find('#') != absl::string_view::npos) {
    return absl::InvalidArgumentError("must not have a fragment");
  }
  size_t end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, end);
  parsed.path_and_query = std::string(end == absl::string_view::npos ? "" : rest.substr(end));
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("must not contain user info");
  }
  absl::string_view host = authority;
  absl::string_view port;
  bool has_port = false;
  if (absl::ConsumePrefix(&host, "[")) {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("has an unterminated IPv6 address");
    }
    absl::string_view after = host.substr(close + 1);
    host = host.substr(0, close);
    if (host.find(':') == absl::string_view::npos ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != absl::string_view::npos) {
      return absl::InvalidArgumentError("has a malformed IPv6 address");
    }
    if (!after.empty()) {
      if (!absl::ConsumePrefix(&after, ":")) return absl::InvalidArgumentError("has a bad port");
      port = after;
      has_port = true;
    }
  } else if (size_t c = host.find(':'); c != absl::string_view::npos) {
    port = host.substr(c + 1);
    host = host.substr(0, c);
    has_port = true;
  }
  if (host.empty()) return absl::InvalidArgumentError("has no host");
  if (has_port &&
      (port.empty() || port.size() > 5 ||
       port.find_first_not_of("0123456789") != absl::string_view::npos ||
       !absl::SimpleAtoi(port, &parsed.port) || parsed.port < 1 || parsed.port > 65535)) {
    return absl::InvalidArgumentError("has a bad port");
  }
  parsed.host = absl::AsciiStrToLower(host);
  return parsed;
}

}  // namespace tokend
