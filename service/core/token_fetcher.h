// TokenFetcher makes one client-credentials request to the identity provider and reports the
// outcome in the terms of token_endpoint.h. Retries and caching are TokenCache's business.
// Thread-safe; Fetch() blocks on the network, so it runs on TaskRunner threads only.
#ifndef TOKEND_SERVICE_CORE_TOKEN_FETCHER_H_
#define TOKEND_SERVICE_CORE_TOKEN_FETCHER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/clock.h"
#include "service/core/credential.h"
#include "service/core/http_client.h"
#include "service/core/token_endpoint.h"

namespace tokend {

class TokenFetcher {
 public:
  // `http` and `clock` must outlive this object. `default_authority` is --authority-host (or
  // --cloud's), used for credentials without their own. `timeout` bounds each request.
  // `region` (--region; empty: none) sends token requests to the regional endpoints of cloud
  // authorities (see RegionalAuthority); REQUIRES: empty or IsRegionName(region).
  TokenFetcher(HttpClient& http, Clock& clock, std::string default_authority,
               absl::Duration timeout = absl::Seconds(10), std::string region = "");

  // Requests a token for `credential` in `tenant`, authenticated by its client secret or by
  // the client assertion of its certificate or federated token. On failure:
  // FAILED_PRECONDITION for a rejected configuration (with ErrorDetails; for an application
  // missing from the tenant, the consent URL; for an assertion Entra refused, what it was made
  // from) or when no assertion can be made (naming the credential and the file),
  // UNAVAILABLE / DEADLINE_EXCEEDED for transient trouble (retry).
  absl::StatusOr<AccessToken> Fetch(const Credential& credential, const std::string& tenant,
                                    const TokenTarget& target);

  // The authority a credential uses.
  const std::string& AuthorityFor(const Credential& credential) const {
    return credential.authority_host.empty() ? default_authority_ : credential.authority_host;
  }

 private:
  // Constant after construction.
  HttpClient& http_;
  Clock& clock_;
  const std::string default_authority_;
  const absl::Duration timeout_;
  const std::string region_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_TOKEN_FETCHER_H_
