#include "service/adapters/workload_identity.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/adapters/federated_token_file.h"
#include "service/common/openssl_ptr.h"
#include "service/core/identifiers.h"

namespace tokend {
namespace {

constexpr char kClientId[] = "AZURE_CLIENT_ID";
constexpr char kTenantId[] = "AZURE_TENANT_ID";
constexpr char kTokenFile[] = "AZURE_FEDERATED_TOKEN_FILE";
constexpr char kAuthorityHost[] = "AZURE_AUTHORITY_HOST";

std::string Get(const EnvLookup& env, const char* name) {
  const char* value = env ? env(name) : nullptr;
  return value != nullptr ? value : "";
}

// The first 16 hex digits of a SHA-256 over `parts`: the credential's version, which changes
// only when the variables do (a rotated token file is not a new version).
std::string Version(const std::vector<std::string>& parts) {
  const std::string joined = absl::StrJoin(parts, "\n");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(joined.data(), joined.size(), digest, &size, Sha256(), nullptr) != 1) {
    return "env";
  }
  return absl::StrCat(
      "env-", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size))
                  .substr(0, 16));
}

}  // namespace

absl::StatusOr<std::optional<Credential>> WorkloadIdentityFromEnvironment(const EnvLookup& env) {
  const std::string token_file = Get(env, kTokenFile);
  if (token_file.empty()) return std::nullopt;
  auto fail = [](absl::string_view variable, absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat("credential \"", kWorkloadIdentityCredential,
                                                      "\": variable ", variable, ": ", why));
  };
  Credential credential;
  credential.name = kWorkloadIdentityCredential;
  credential.kind = CredentialKind::kWorkloadIdentity;
  credential.client_id = Get(env, kClientId);
  if (credential.client_id.empty()) {
    return fail(kClientId,
                "is not set (the azure-workload-identity webhook sets it from the "
                "service account's azure.workload.identity/client-id annotation)");
  }
  if (!IsGuid(credential.client_id)) return fail(kClientId, "must be a GUID");
  credential.tenant_id = Get(env, kTenantId);
  if (credential.tenant_id.empty()) return fail(kTenantId, "is not set");
  if (!IsTenantId(credential.tenant_id)) {
    return fail(kTenantId, "must be a GUID or a domain name");
  }
  if (!absl::StartsWith(token_file, "/")) return fail(kTokenFile, "must be an absolute path");
  const std::string authority = Get(env, kAuthorityHost);
  if (!authority.empty()) {
    // AZURE_AUTHORITY_HOST comes with a trailing slash (https://login.microsoftonline.com/);
    // normalising drops it, so URLs never get a "//".
    absl::StatusOr<std::string> normalized = NormalizeAuthorityHost(kAuthorityHost, authority);
    if (!normalized.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("credential \"", kWorkloadIdentityCredential, "\": variable ",
                       normalized.status().message()));
    }
    credential.authority_host = *std::move(normalized);
  }
  credential.assertion = std::make_shared<FederatedTokenFile>(token_file, kTokenFile);
  credential.version =
      Version({credential.client_id, credential.tenant_id, token_file, credential.authority_host});
  return credential;
}

}  // namespace tokend
