// Metrics: what the core reports as it works, for the Prometheus adapter to count
// (service/adapters/prometheus_metrics.h). The core includes no Prometheus header; it calls
// these methods, which do nothing unless overridden. Label values are fixed sets (the enums
// below, JwtFailure) or configuration (credential names): never token or request text.
// Implementations must be thread-safe and cheap: TokenLookup runs on every GetToken.
#ifndef TOKEND_SERVICE_CORE_METRICS_H_
#define TOKEND_SERVICE_CORE_METRICS_H_

#include <string>

#include "absl/time/time.h"
#include "service/core/jwt_failure.h"

namespace tokend {

// How a token request that TokenCache made (for a caller or a background renewal) ended.
enum class RenewalOutcome {
  kSuccess,           // A token arrived.
  kTransientFailure,  // Unreachable, 5xx, 429, timeout: retried with backoff.
  kRejected,          // The identity provider rejected the configuration (not retried).
};
const char* RenewalOutcomeName(RenewalOutcome outcome);  // "success", ...

// A document JwksCache fetches, and how the fetch ended.
enum class KeyDocument { kDiscovery, kKeys };
enum class FetchOutcome {
  kOk,        // Fetched, parsed and in use.
  kFailed,    // Unreachable or an HTTP error: the last good state is kept.
  kRejected,  // Fetched but malformed, oversized or without a usable key: last good kept.
};
const char* KeyDocumentName(KeyDocument document);   // "discovery", "keys".
const char* FetchOutcomeName(FetchOutcome outcome);  // "ok", "failed", "rejected".

class Metrics {
 public:
  virtual ~Metrics() = default;
  // A GetToken or WatchToken lookup: served from memory (hit) or not (miss, including
  // force_refresh).
  virtual void TokenLookup(const std::string& /*credential*/, bool /*hit*/) {}
  // One token request made by TokenCache.
  virtual void TokenRequest(const std::string& /*credential*/, RenewalOutcome /*outcome*/) {}
  // One discovery or key-set fetch by JwksCache.
  virtual void KeyFetch(KeyDocument /*document*/, FetchOutcome /*outcome*/) {}
  // One ValidateToken answer: kNone for a valid token, else why not.
  virtual void Validation(JwtFailure /*failure*/) {}
  // One finished RPC: `method` is a TokenService method name ("GetToken", ...), `code` a
  // grpc::StatusCode, `elapsed` from the call's start to its status.
  virtual void Rpc(const char* /*method*/, int /*code*/, absl::Duration /*elapsed*/) {}
  // One reload of a credential's files that changed it or failed to.
  virtual void SecretReload(const std::string& /*credential*/, bool /*ok*/) {}
  // A token request the caller policy (--policy) denied; `rule` is the deciding rule's name,
  // "" when no rule names the caller.
  virtual void PolicyDenial(const std::string& /*rule*/) {}
  // One load of the policy file on SIGHUP: applied (ok) or rejected (the last good one stays).
  virtual void PolicyReload(bool /*ok*/) {}
  // A call refused because its mTLS client certificate is not in --tls-allowed-clients.
  virtual void TlsClientDenial() {}
  // A change of the TLS files that was applied (ok) or rejected (the last good one stays).
  virtual void TlsReload(bool /*ok*/) {}
};

// A Metrics that counts nothing; the default of every component.
Metrics& NoMetrics();

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_METRICS_H_
