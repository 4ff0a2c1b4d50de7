// TokenCache: access tokens by (credential, tenant, target), served from memory while valid
// for the caller's min_validity, renewed in the background ahead of expiry, with exactly one
// request to the identity provider in flight per key however many callers wait. Transient
// failures are retried with exponential backoff and jitter, honouring Retry-After;
// configuration rejections are remembered briefly so a bad secret does not hammer Entra. A
// token that is still valid keeps being served while the provider fails.
//
// Clocks (see clock.h): everything measured or scheduled is on the steady clock
// (Clock::SteadyNow), which never jumps: how long a cached token remains valid (its lifetime,
// counted from the moment it arrived), min_validity, renewal times, backoff, Retry-After,
// callers' deadlines, remembered rejections, max_requests_per_minute windows and idleness. The
// wall clock (Clock::TimeNow) only reports: a served token's expires_at is the wall clock at
// serve time plus the validity left, so it stays right after the wall clock jumps either way.
//
// Thread-safe. Get() never blocks on the network: a hit calls `done` at once on the caller's
// thread; a miss calls it later from a TaskRunner thread. The cache-hit path takes a shared
// lock only. Callbacks run without the cache's lock held.
#ifndef TOKEND_SERVICE_CORE_TOKEN_CACHE_H_
#define TOKEND_SERVICE_CORE_TOKEN_CACHE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/clock.h"
#include "service/core/credential.h"
#include "service/core/metrics.h"
#include "service/core/task_runner.h"
#include "service/core/token_endpoint.h"
#include "service/core/token_fetcher.h"

namespace tokend {

struct TokenCacheOptions {
  size_t max_entries = 10000;  // Least recently used evicted beyond this.
  int max_attempts = 4;        // Per caller-driven fetch, retries included.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration rejection_ttl = absl::Seconds(30);  // How long a rejection is remembered.
  absl::Duration refresh_before = absl::Minutes(6);  // Renew this long before expiry...
  absl::Duration refresh_jitter = absl::Minutes(1);  // ...plus up to this much earlier.
  absl::Duration idle_timeout = absl::Hours(1);      // Unused this long: no background renewal.
  // At most this many token requests per key in any minute, whatever the callers do: a
  // force_refresh beyond it fails RESOURCE_EXHAUSTED (with RetryInfo) unless a request is
  // already under way, and other fetches (cold misses, renewals) wait for the window.
  int max_requests_per_minute = 12;
  std::function<double()> random;  // Uniform in [0, 1); default: absl::BitGen.
  Metrics* metrics = nullptr;      // Lookups and token requests; not owned; null: not counted.
};

// One caller's request. `credential` is the current version from the CredentialStore.
struct TokenRequest {
  std::shared_ptr<const Credential> credential;
  std::string tenant;
  TokenTarget target;
  absl::Duration min_validity = absl::Minutes(5);
  bool force_refresh = false;  // Only a token obtained after now will do.
  // DEADLINE_EXCEEDED after this. A wall-clock time (as gRPC gives it): the cache counts the
  // time left when the request arrives on the steady clock, so a wall-clock jump afterwards
  // does not move it.
  absl::Time deadline = absl::InfiniteFuture();
};

struct CachedToken {
  // token->obtained_at/expires_at/refresh_at are the wall clock at the token's receipt: do not
  // report them, the wall clock may have jumped since.
  std::shared_ptr<const AccessToken> token;
  bool from_cache = false;
  // When the token expires, by the wall clock when it was served: wall now + the validity left
  // (measured on the steady clock since the token arrived). What to report to callers.
  absl::Time expires_at = absl::InfinitePast();
};

using TokenCallback = std::function<void(absl::StatusOr<CachedToken>)>;

class TokenCache {
 public:
  // `fetcher`, `clock` and `runner` must outlive this object, and `runner` must run no task
  // of this cache after its destruction (destroy the runner first).
  TokenCache(TokenFetcher& fetcher, Clock& clock, TaskRunner& runner,
             TokenCacheOptions options = {});
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Calls `done` exactly once with a token valid for at least min_validity, or: the
  // rejection (FAILED_PRECONDITION), UNAVAILABLE after the retries (with RetryInfo), or
  // DEADLINE_EXCEEDED when the request's deadline passes first.
  void Get(const TokenRequest& request, TokenCallback done);

  // Calls `on_token` with a token now (as Get would) and again after every renewal, until
  // Unwatch(). Errors are reported only while no valid token is held. Returns a handle.
  uint64_t Watch(const TokenRequest& request, TokenCallback on_token);
  void Unwatch(uint64_t watch_id);

  // A credential's content changed (secret rotation): its tokens keep being served until a
  // token obtained with the new content replaces each of them; remembered rejections of the
  // old content are forgotten.
  void OnCredentialChanged(const std::shared_ptr<const Credential>& credential);

  // Answers every caller still waiting with `status` (shutdown). Fetches in flight go on.
  void FailAllWaiters(const absl::Status& status);

  // For each credential with a token in use (renewed in the background), when the soonest of
  // those tokens expires, by the wall clock now (wall now + its validity left). Idle tokens,
  // left to lapse, are not counted.
  std::map<std::string, absl::Time> SoonestExpiryByCredential() const;
  // Entries in memory (keys with a token, being fetched, or rejected).
  size_t size() const;

 private:
  struct Key {
    std::string credential, tenant, target;
    bool operator<(const Key& o) const;
  };
  // A reading of both clocks, taken together.
  struct Now {
    absl::Time steady;  // Clock::SteadyNow(): for all that is measured or scheduled.
    absl::Time wall;    // Clock::TimeNow(): only to report times.
  };
  struct Waiter {
    uint64_t id;
    absl::Duration min_validity;
    absl::Time obtained_after;  // Steady. force_refresh: the token must be newer than this.
    TokenCallback done;
  };
  // All absl::Time fields (and last_used_ns) are steady times, except in `token`.
  struct Entry {
    Key key;
    TokenTarget target;
    std::shared_ptr<const Credential> credential;  // Latest known content.
    std::shared_ptr<const AccessToken> token;      // Latest token, possibly expired.
    absl::Time token_received;                     // When `token` arrived.
    absl::Time token_expiry;                       // token_received + its lifetime.
    std::string token_version;                     // Credential version that minted it.
    bool fetching = false;                         // A request or its retry is scheduled.
    int attempt = 0;                               // Failed attempts of the current fetch.
    std::vector<Waiter> waiters;
    std::map<uint64_t, TokenCallback> watchers;
    absl::Status rejection;  // Last configuration rejection.
    absl::Time rejected_until = absl::InfinitePast();
    absl::Time throttled_until = absl::InfinitePast();
    uint64_t refresh_generation = 0;  // Outdates earlier refresh timers.
    std::atomic<int64_t> last_used_ns{0};
    std::deque<absl::Time> recent_requests;  // Starts of this key's requests in the last minute.
  };
  using Callbacks = std::vector<std::function<void()>>;

  static Key MakeKey(const TokenRequest& request);
  Now ReadClocks() const { return Now{clock_.SteadyNow(), clock_.TimeNow()}; }
  // True iff `e` has a token valid for `min_validity` after `now` (steady) that arrived after
  // `obtained_after` (steady).
  static bool Fresh(const Entry& e, absl::Time now, absl::Duration min_validity,
                    absl::Time obtained_after);
  // The token of `e` (not null) to hand out at `now`, with its expires_at on the wall clock.
  static CachedToken Serve(const Entry& e, const Now& now, bool from_cache);

  Entry& FindOrCreateLocked(const Key& key, const TokenRequest& request, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictOneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds a waiter for `request` and starts a fetch if none is running, or queues `done` with
  // the reason the request must fail at once (remembered rejection, throttling).
  void WaitLocked(Entry& e, const TokenRequest& request, const Now& now, TokenCallback done,
                  Callbacks* callbacks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When the next request of `e` may start under max_requests_per_minute (`now` if at once;
  // steady).
  absl::Time NextRequestSlotLocked(Entry& e, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartFetchLocked(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleRefreshLocked(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool InUseLocked(const Entry& e, absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Duration Backoff(int attempt, absl::Duration retry_after) const;

  void Attempt(const Key& key);
  void Refresh(const Key& key, uint64_t generation);
  void ExpireWaiter(const Key& key, uint64_t waiter_id);

  // Constant after construction.
  TokenFetcher& fetcher_;
  Clock& clock_;
  TaskRunner& runner_;
  const TokenCacheOptions options_;
  Metrics& metrics_;

  mutable absl::Mutex mu_;
  std::map<Key, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Key> watch_keys_ ABSL_GUARDED_BY(mu_);  // Watch id -> its entry.
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_TOKEN_CACHE_H_
