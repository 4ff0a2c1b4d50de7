// The workload identity federation credential (SPEC "Credentials on disk"; ENTRA.md section 6):
// when the azure-workload-identity webhook has set up the pod, its variables
//
//   AZURE_CLIENT_ID              the application (or user-assigned managed identity) client id
//   AZURE_TENANT_ID              its tenant
//   AZURE_FEDERATED_TOKEN_FILE   the projected service-account token, the client assertion
//   AZURE_AUTHORITY_HOST         optional: the cloud's authority, with or without trailing slash
//
// make one credential named "workload-identity", whose assertion is the token file, re-read for
// every token request (FederatedTokenFile). Pure but for reading the environment through an
// injected lookup; thread-compatible.
#ifndef TOKEND_SERVICE_ADAPTERS_WORKLOAD_IDENTITY_H_
#define TOKEND_SERVICE_ADAPTERS_WORKLOAD_IDENTITY_H_

#include <optional>

#include "absl/status/statusor.h"
#include "service/common/flag_parser.h"
#include "service/core/credential.h"

namespace tokend {

// The name of the credential the variables make.
inline constexpr char kWorkloadIdentityCredential[] = "workload-identity";

// Reads the variables through `env`. nullopt when AZURE_FEDERATED_TOKEN_FILE is unset or empty
// (workload identity is not in use; AZURE_CLIENT_ID alone is also used by other Azure
// credentials). Otherwise the credential, or FAILED_PRECONDITION naming the credential and the
// variable when AZURE_CLIENT_ID is missing or not a GUID, AZURE_TENANT_ID missing or not a tenant
// id, the token file path not absolute, or AZURE_AUTHORITY_HOST not an authority URL. The token
// file itself is read at each token request, not here, so that a file the kubelet writes later
// still works.
absl::StatusOr<std::optional<Credential>> WorkloadIdentityFromEnvironment(const EnvLookup& env);

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_WORKLOAD_IDENTITY_H_
