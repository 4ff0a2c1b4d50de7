// Mints RS256 access tokens shaped like Entra ID app-only tokens. The token version (v1 or v2
// claims) follows the resource's access_token_version, not the endpoint, as in Entra.
// Thread-safe (signs with the store's current key).
#ifndef TOKEND_TESTS_DEVIDP_JWT_MINTER_H_
#define TOKEND_TESTS_DEVIDP_JWT_MINTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/signing_key_store.h"

namespace tokend {
namespace devidp {

struct MintRequest {
  std::string tenant_id;                // Tenant GUID (never a domain).
  std::string client_id;                // The calling app.
  const ResourceConfig* resource;       // Target resource; must not be null.
  std::string requested_audience;       // v1 `aud`: the resource URI (or id) as requested.
  std::vector<std::string> roles;       // Granted roles; the claim is omitted when empty.
  std::string client_auth_class = "1";  // appidacr/azpacr: "1" secret, "2" certificate/assertion.
  absl::Time issued_at;                 // iat and nbf.
  absl::Duration lifetime;              // exp = iat + lifetime.
};

class JwtMinter {
 public:
  // `keys` must outlive this object.
  explicit JwtMinter(const SigningKeyStore& keys) : keys_(keys) {}

  // Returns the compact JWS "header.payload.signature" signed with the current key.
  absl::StatusOr<std::string> Mint(const MintRequest& request) const;

  // Returns the payload claims for `request` (with a fresh random `uti`).
  static nlohmann::ordered_json Claims(const MintRequest& request);

  // Returns the service principal object id of `client_id` in `tenant_id` (oid/sub): a GUID that
  // is stable for the pair.
  static std::string ServicePrincipalId(const std::string& client_id, const std::string& tenant_id);

 private:
  const SigningKeyStore& keys_;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_JWT_MINTER_H_
