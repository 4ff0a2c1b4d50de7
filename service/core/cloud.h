// The Entra ID clouds tokend can sign in to, their authority hosts (ENTRA.md section 5), and
// the regional token endpoints (ESTS-R) that MSAL offers with WithAzureRegion. Pure functions;
// thread-safe.
#ifndef TOKEND_SERVICE_CORE_CLOUD_H_
#define TOKEND_SERVICE_CORE_CLOUD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

enum class Cloud {
  kPublic,  // Azure (global): https://login.microsoftonline.com.
  kUsGov,   // Azure Government (GCC High, DoD): https://login.microsoftonline.us.
  kChina,   // Azure operated by 21Vianet: https://login.partner.microsoftonline.cn.
};

// Parses "public", "usgov" or "china". INVALID_ARGUMENT listing those otherwise.
absl::StatusOr<Cloud> ParseCloud(absl::string_view name);

// "public", "usgov" or "china".
const char* CloudName(Cloud cloud);

// The cloud's authority host, normalised (https, no trailing slash). China's is the host the
// national-cloud documentation names; login.chinacloudapi.cn is an older alias of it.
std::string CloudAuthorityHost(Cloud cloud);

// Returns true iff `authority` (normalised) is the authority host of an Entra cloud, or one of
// the aliases MSAL knows for it (login.windows.net, login.microsoft.com, sts.windows.net,
// login.chinacloudapi.cn), without a path.
bool IsCloudAuthority(absl::string_view authority);

// Returns true iff `region` looks like an Azure region's short name (westus2, chinanorth3):
// 2 to 32 lowercase letters and digits, starting with a letter.
bool IsRegionName(absl::string_view region);

// The authority that token requests go to in `region`, as MSAL builds it: for the public
// cloud's hosts https://{region}.login.microsoft.com, for the other clouds
// https://{region}.{host}. `authority` itself when `region` is empty or `authority` is not a
// cloud authority (IsCloudAuthority; e.g. a local identity provider). Only the token endpoint
// moves: a client assertion's audience, discovery, keys and consent links stay global.
std::string RegionalAuthority(absl::string_view authority, absl::string_view region);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CLOUD_H_
