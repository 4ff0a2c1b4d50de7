#include "service/core/identifiers.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "service/core/url_encoding.h"

namespace tokend {
namespace {

bool IsDnsLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

bool IsIpv4(absl::string_view s, int* first_octet) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '.');
  if (parts.size() != 4) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    if (p.empty() || p.size() > 3) return false;
    for (char c : p) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    int value = 0;
    if (!absl::SimpleAtoi(p, &value) || value > 255) return false;
    if (i == 0 && first_octet != nullptr) *first_octet = value;
  }
  return true;
}

}  // namespace

bool IsGuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool IsDomainName(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::vector<absl::string_view> labels = absl::StrSplit(s, '.');
  if (labels.size() < 2) return false;
  for (absl::string_view label : labels) {
    if (!IsDnsLabel(label)) return false;
  }
  // The last label of a real domain is not all digits (that would be an IPv4 address).
  for (char c : labels.back()) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

bool IsTenantId(absl::string_view s) { return IsGuid(s) || IsDomainName(s); }

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  if (host == "::1" || host == "[::1]") return true;
  int first = -1;
  return IsIpv4(host, &first) && first == 127;
}

absl::StatusOr<std::string> NormalizeAuthorityHost(absl::string_view field, absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  absl::StatusOr<ParsedUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok())
    return bad(absl::StrCat("must be an https:// URL (it ", parsed.status().message(), ")"));
  if (absl::StrContains(parsed->path_and_query, "?")) return bad("must not have a query");
  bool ipv6 = absl::StrContains(parsed->host, ':');
  int first = -1;
  bool host_ok =
      IsLoopbackHost(parsed->host) || IsDomainName(parsed->host) || IsDnsLabel(parsed->host) ||
      IsIpv4(parsed->host, &first) ||
      (ipv6 && parsed->host.find_first_not_of("0123456789abcdef:.") == std::string::npos);
  bool all_digits = parsed->host.find_first_not_of("0123456789") == std::string::npos;
  if (!host_ok || all_digits) return bad("has a malformed host");
  if (parsed->scheme == "http" && !IsLoopbackHost(parsed->host)) {
    return bad("must use https (plain http is accepted for loopback hosts only)");
  }
  absl::string_view path = parsed->path_and_query;
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment == "." || segment == "..") return bad("must not contain . or .. in its path");
  }
  std::string host = ipv6 ? absl::StrCat("[", parsed->host, "]") : parsed->host;
  std::string port = parsed->port != 0 ? absl::StrCat(":", parsed->port) : "";
  return absl::StrCat(parsed->scheme, "://", host, port, path);
}

}  // namespace tokend
