// The OAuth 2.0 client-credentials grant as Entra ID answers it on the v1 and v2 token
// endpoints: request checks in Entra's order, Entra-shaped errors, and token minting.
// Thread-safe (const; the directory and minter are thread-safe).
#ifndef TOKEND_TESTS_DEVIDP_TOKEN_ISSUER_H_
#define TOKEND_TESTS_DEVIDP_TOKEN_ISSUER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "tests/devidp/client_assertion_verifier.h"
#include "tests/devidp/directory.h"
#include "tests/devidp/entra_error.h"
#include "tests/devidp/http_reply.h"
#include "tests/devidp/jwt_minter.h"
#include "tests/devidp/token_request.h"

namespace tokend {
namespace devidp {

struct TokenIssuerOptions {
  absl::Duration lifetime = absl::Seconds(3599);  // expires_in and exp - iat.
  absl::optional<absl::Duration> refresh_in;      // Adds `refresh_in` when set.
};

class TokenIssuer {
 public:
  // `directory`, `minter` and `verifier` must outlive this object.
  TokenIssuer(const Directory& directory, const JwtMinter& minter,
              const ClientAssertionVerifier& verifier, TokenIssuerOptions options)
      : directory_(directory), minter_(minter), verifier_(verifier), options_(options) {}

  // Answers `request` at time `now`: 200 with the endpoint's success JSON (numbers on v2,
  // strings on v1), or the Entra error reply. `correlation_id` is echoed in errors (a random one
  // is used when empty). `base_urls` are the URLs this server is reached at (a client
  // assertion's aud must be a token endpoint under one of them). Replies never contain the
  // client secret or assertion.
  HttpReply Issue(const TokenRequest& request, absl::Time now, absl::string_view correlation_id,
                  const std::vector<std::string>& base_urls = {}) const;

 private:
  // Checks grant_type, scope/resource and client_id. On success stores the resource identifier as
  // requested (without "/.default") in *requested.
  absl::optional<EntraError> CheckParameters(const TokenRequest& request,
                                             std::string* requested) const;

  // Authenticates the client of `request` in `tenant` by its secret or client assertion. The
  // one place that knows credential kinds.
  absl::optional<EntraError> AuthenticateClient(const TokenRequest& request,
                                                const TenantConfig& tenant,
                                                const std::vector<std::string>& base_urls,
                                                absl::Time now) const;

  HttpReply SuccessReply(TokenEndpoint endpoint, const std::string& requested,
                         const std::string& access_token, absl::Time now) const;

  const Directory& directory_;
  const JwtMinter& minter_;
  const ClientAssertionVerifier& verifier_;
  const TokenIssuerOptions options_;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_TOKEN_ISSUER_H_
