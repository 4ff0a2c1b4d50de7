#include "service/core/cloud.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tokend {
namespace {

constexpr absl::string_view kHttps = "https://";

// The public cloud's hosts, whose regional endpoints are {region}.login.microsoft.com (MSAL's
// list; msal/application.py _get_regional_authority).
constexpr absl::string_view kPublicHosts[] = {"login.microsoftonline.com", "login.microsoft.com",
                                              "login.windows.net", "sts.windows.net"};
// The other clouds' hosts, whose regional endpoints are {region}.{host}.
constexpr absl::string_view kOtherCloudHosts[] = {
    "login.microsoftonline.us", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"};

// The host of a normalised https authority without a path; empty otherwise.
absl::string_view HostOf(absl::string_view authority) {
  if (!absl::ConsumePrefix(&authority, kHttps)) return "";
  if (absl::StrContains(authority, '/') || absl::StrContains(authority, ':')) return "";
  return authority;
}

bool IsPublicHost(absl::string_view host) {
  for (absl::string_view known : kPublicHosts) {
    if (absl::EqualsIgnoreCase(host, known)) return true;
  }
  return false;
}

bool IsOtherCloudHost(absl::string_view host) {
  for (absl::string_view known : kOtherCloudHosts) {
    if (absl::EqualsIgnoreCase(host, known)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Cloud> ParseCloud(absl::string_view name) {
  if (name == "public") return Cloud::kPublic;
  if (name == "usgov") return Cloud::kUsGov;
  if (name == "china") return Cloud::kChina;
  return absl::InvalidArgumentError("must be public, usgov or china");
}

const char* CloudName(Cloud cloud) {
  switch (cloud) {
    case Cloud::kPublic:
      return "public";
    case Cloud::kUsGov:
      return "usgov";
    case Cloud::kChina:
      return "china";
  }
  return "public";
}

std::string CloudAuthorityHost(Cloud cloud) {
  switch (cloud) {
    case Cloud::kPublic:
      return "https://login.microsoftonline.com";
    case Cloud::kUsGov:
      return "https://login.microsoftonline.us";
    case Cloud::kChina:
      return "https://login.partner.microsoftonline.cn";
  }
  return "https://login.microsoftonline.com";
}

bool IsCloudAuthority(absl::string_view authority) {
  absl::string_view host = HostOf(authority);
  return IsPublicHost(host) || IsOtherCloudHost(host);
}

bool IsRegionName(absl::string_view region) {
  if (region.size() < 2 || region.size() > 32 || !absl::ascii_islower(region[0])) return false;
  for (char c : region) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c)) return false;
  }
  return true;
}

std::string RegionalAuthority(absl::string_view authority, absl::string_view region) {
  absl::string_view host = HostOf(authority);
  if (region.empty() || host.empty()) return std::string(authority);
  if (IsPublicHost(host)) return absl::StrCat(kHttps, region, ".login.microsoft.com");
  if (IsOtherCloudHost(host)) {
    return absl::StrCat(kHttps, region, ".", absl::AsciiStrToLower(host));
  }
  return std::string(authority);
}

}  // namespace tokend
