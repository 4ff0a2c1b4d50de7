// Verifies the client_assertion of a token request (RFC 7523) as Entra ID does for the
// client-credentials grant (ENTRA.md section 6). Two kinds, told apart by `iss`:
//
//   certificate  iss = sub = client_id; the header's x5t#S256 (or x5t) names one of the app's
//                registered certificates, whose key must verify the PS256 (or RS256) signature;
//                aud is this server's token endpoint for the tenant (v1 or v2 path, tenant by
//                GUID or domain); nbf/exp hold now; jti is required.
//   federated    iss is a trusted issuer (the dev IdP is given its keys), whose key named by kid
//                verifies the RS256 signature; one of the app's federated identity credentials
//                names that issuer, the token's sub, and one of its audiences; nbf/exp hold now.
//
// A jti may come back only in the very same assertion: Entra lets a client present one
// assertion several times while it is valid (MSAL reuses its assertions; a projected
// service-account token is presented for as long as it lives), but a different assertion with a
// jti already seen is a replay. Time checks allow five minutes of clock skew.
// Thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_CLIENT_ASSERTION_VERIFIER_H_
#define TOKEND_TESTS_DEVIDP_CLIENT_ASSERTION_VERIFIER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/directory.h"
#include "tests/devidp/entra_error.h"
#include "tests/devidp/idp_config.h"

namespace tokend {
namespace devidp {

// The one assertion type Entra accepts.
inline constexpr char kJwtBearerAssertionType[] =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Leeway for an assertion's nbf and exp.
inline constexpr absl::Duration kAssertionClockSkew = absl::Minutes(5);

struct ParsedAssertion;  // A decoded, not yet verified assertion (client_assertion_verifier.cc).

class ClientAssertionVerifier {
 public:
  // `directory` must outlive this object.
  explicit ClientAssertionVerifier(const Directory& directory) : directory_(directory) {}

  ClientAssertionVerifier(const ClientAssertionVerifier&) = delete;
  ClientAssertionVerifier& operator=(const ClientAssertionVerifier&) = delete;

  // Returns nullopt iff `assertion` (of type `assertion_type`) authenticates the app
  // `client_id` in `tenant` at `now`, for a request to this server, whose token endpoints start
  // with one of `base_urls` (e.g. "http://127.0.0.1:41234"). Otherwise the Entra error: 50027
  // malformed, 700027 unknown key or bad signature, 700021 iss/sub not the client id, 700023
  // wrong aud, 700024 outside nbf/exp, 50013 replayed jti, 70021 no matching federated
  // identity credential.
  absl::optional<EntraError> Verify(absl::string_view assertion_type, absl::string_view assertion,
                                    absl::string_view client_id, const TenantConfig& tenant,
                                    const std::vector<std::string>& base_urls,
                                    absl::Time now) const;

 private:
  struct SeenJti {
    std::string digest;    // SHA-256 of the assertion that brought the jti.
    absl::Time forget_at;  // Its exp plus the skew: the jti cannot come back valid after that.
  };

  absl::optional<EntraError> VerifyCertificate(const ParsedAssertion& jwt,
                                               absl::string_view client_id,
                                               const TenantConfig& tenant,
                                               const std::vector<std::string>& base_urls) const;
  absl::optional<EntraError> VerifyFederated(const ParsedAssertion& jwt,
                                             absl::string_view client_id) const;
  // Checks nbf and exp against `now`.
  static absl::optional<EntraError> CheckTime(const ParsedAssertion& jwt, absl::Time now);
  // Records the jti of `jwt` (keyed by `scope`); 50013 if it came before in another assertion.
  absl::optional<EntraError> CheckReplay(const ParsedAssertion& jwt, const std::string& scope,
                                         absl::Time now) const;

  const Directory& directory_;

  mutable absl::Mutex mu_;
  mutable std::map<std::string, SeenJti> seen_ ABSL_GUARDED_BY(mu_);  // By scope and jti.
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_CLIENT_ASSERTION_VERIFIER_H_
