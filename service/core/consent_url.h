// Builds the links a customer tenant's administrator opens to grant an application consent in
// their tenant (ENTRA.md section 5). Pure functions; thread-safe.
#ifndef TOKEND_SERVICE_CORE_CONSENT_URL_H_
#define TOKEND_SERVICE_CORE_CONSENT_URL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

enum class ConsentKind {
  kV1Consent,       // .../oauth2/authorize?prompt=consent&... (the Defender guide's link).
  kV1AdminConsent,  // .../oauth2/authorize?prompt=admin_consent&...
  kV2AdminConsent,  // .../v2.0/adminconsent?client_id&scope&redirect_uri&state
};

struct ConsentRequest {
  ConsentKind kind = ConsentKind::kV1Consent;
  std::string tenant_id;            // Empty: "common" (v1) or "organizations" (v2).
  std::string redirect_uri;         // Optional: absolute https (http for loopback only).
  std::string state;                // Optional; returned to the redirect URI unchanged.
  std::vector<std::string> scopes;  // v2 only, required there.
};

// Returns the consent link for the application `client_id` at `authority_host` (normalised, no
// trailing slash). INVALID_ARGUMENT naming the request field (tenant_id, redirect_uri, state,
// scopes) when the request is malformed; the message never quotes the offending value.
absl::StatusOr<std::string> BuildConsentUrl(const ConsentRequest& request,
                                            absl::string_view client_id,
                                            absl::string_view authority_host);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CONSENT_URL_H_
