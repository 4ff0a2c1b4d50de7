// JwksCache: the signing keys and issuer of each tenant's tokens, fetched from the OpenID
// discovery document (v1 or v2, chosen by the token's `ver`) and its `jwks_uri`, kept in memory,
// refreshed in the background every hour, refetched on an unknown `kid` at most once every 5
// minutes per jwks_uri (concurrent misses share that one fetch), and kept when a fetch fails or
// returns a malformed, oversized or empty document (ENTRA.md section 3, signing-key rollover).
//
// All of its times (refresh and refetch intervals, the gap before refetching after a failure,
// key_ttl, idleness) are measured on the steady clock (Clock::SteadyNow): a wall-clock jump
// neither stretches nor shortens them. Checking a token's exp/nbf against the wall clock is
// TokenValidator's business.
//
// Thread-safe. GetKeys() never blocks on the network: with the keys in memory it calls `done`
// at once on the caller's thread; otherwise later, from a TaskRunner thread, once the fetch
// ends. Callbacks run without the cache's lock held.
#ifndef TOKEND_SERVICE_CORE_JWKS_CACHE_H_
#define TOKEND_SERVICE_CORE_JWKS_CACHE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/core/clock.h"
#include "service/core/http_client.h"
#include "service/core/jwks.h"
#include "service/core/metrics.h"
#include "service/core/task_runner.h"

namespace tokend {

struct JwksCacheOptions {
  absl::Duration refresh_interval = absl::Hours(1);        // Background refresh of known sets.
  absl::Duration unknown_kid_interval = absl::Minutes(5);  // Min gap between kid-miss refetches.
  absl::Duration key_ttl = absl::Hours(24);  // Keys older than this (no successful refresh) expire.
  absl::Duration request_timeout = absl::Seconds(10);
  size_t max_tenants = 1000;   // Bound on cached (tenant, version) discovery entries.
  Metrics* metrics = nullptr;  // Fetches counted; not owned; null: not counted.
};

// What the cache holds, for metrics.
struct JwksCacheStats {
  size_t key_sets = 0;                                       // Key sets with keys.
  size_t keys = 0;                                           // Keys in them.
  absl::Duration oldest_key_set_age = absl::ZeroDuration();  // Since its last good fetch.
};

// The keys that sign a tenant's tokens of one version, and the issuer they must carry.
struct IssuerKeys {
  std::string issuer;                  // With {tenantid} replaced by the tenant.
  std::shared_ptr<const JwkSet> keys;  // Never null on success.
};

using KeysCallback = std::function<void(absl::StatusOr<IssuerKeys>)>;

class JwksCache {
 public:
  // `http`, `clock` and `runner` must outlive this object; destroy the runner first.
  // `authority_host` is --authority-host, normalised.
  JwksCache(HttpClient& http, Clock& clock, TaskRunner& runner, std::string authority_host,
            JwksCacheOptions options = {});
  ~JwksCache();

  // Calls `done` with the issuer and keys for tokens of `tenant` (a GUID) and `version` ("1.0"
  // or "2.0"). If the cached set lacks `kid` and no refetch of that jwks_uri happened in the
  // last unknown_kid_interval, refetches first (the answer then holds the new set, which may
  // still lack the kid). UNAVAILABLE when no keys were ever fetched and the fetch fails;
  // INVALID_ARGUMENT for a tenant that is not a GUID or an unknown version.
  void GetKeys(const std::string& tenant, const std::string& version, const std::string& kid,
               KeysCallback done);

  // What is held now.
  JwksCacheStats Stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_JWKS_CACHE_H_
