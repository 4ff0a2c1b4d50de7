// OpenID Connect discovery documents (/.well-known/openid-configuration) as Entra ID serves them
// for v1 and v2, with every endpoint pointing back at the dev IdP. Pure function.
#ifndef TOKEND_TESTS_DEVIDP_DISCOVERY_DOCUMENT_H_
#define TOKEND_TESTS_DEVIDP_DISCOVERY_DOCUMENT_H_

#include <string>

#include "nlohmann/json.hpp"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/signing_key_store.h"

namespace tokend {
namespace devidp {

// Returns the discovery document of `version` served under `base_url` (no trailing '/').
// `tenant` is the resolved tenant, or nullptr for the multi-tenant alias `alias` ("common",
// "organizations"), whose issuer is templated with the literal "{tenantid}" as in Entra.
nlohmann::ordered_json DiscoveryDocument(KeysVersion version, const std::string& base_url,
                                         const TenantConfig* tenant, const std::string& alias);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_DISCOVERY_DOCUMENT_H_
