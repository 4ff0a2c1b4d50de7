#include "service/core/token_cache.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/logging.h"
#include "service/core/error_details.h"

namespace tokend {
namespace {

std::function<double()> DefaultRandom() {
  auto gen = std::make_shared<absl::BitGen>();
  auto mu = std::make_shared<absl::Mutex>();
  return [gen, mu] {
    absl::MutexLock lock(mu.get());
    return absl::Uniform<double>(*gen, 0.0, 1.0);
  };
}

TokenCacheOptions WithDefaults(TokenCacheOptions options) {
  if (!options.random) options.random = DefaultRandom();
  if (options.max_entries == 0) options.max_entries = 1;
  if (options.max_attempts < 1) options.max_attempts = 1;
  return options;
}

absl::Status Unavailable(const absl::Status& cause, absl::Duration retry_after) {
  ErrorDetails details = GetErrorDetails(cause).value_or(ErrorDetails());
  if (details.reason.empty()) details.reason = "IDP_UNAVAILABLE";
  if (retry_after > details.retry_after) details.retry_after = retry_after;
  return WithErrorDetails(absl::UnavailableError(absl::StrCat("no valid token: ", cause.message())),
                          details);
}

}  // namespace

bool TokenCache::Key::operator<(const Key& o) const {
  return std::tie(credential, tenant, target) < std::tie(o.credential, o.tenant, o.target);
}

TokenCache::TokenCache(TokenFetcher& fetcher, Clock& clock, TaskRunner& runner,
                       TokenCacheOptions options)
    : fetcher_(fetcher),
      clock_(clock),
      runner_(runner),
      options_(WithDefaults(std::move(options))),
      metrics_(options_.metrics != nullptr ? *options_.metrics : NoMetrics()) {}

TokenCache::Key TokenCache::MakeKey(const TokenRequest& request) {
  return Key{request.credential->name, request.tenant,
             request.target.v2() ? absl::StrCat("scope:", absl::StrJoin(request.target.scopes, " "))
                                 : absl::StrCat("resource:", request.target.resource)};
}

bool TokenCache::Fresh(const Entry& e, absl::Time now, absl::Duration min_validity,
                       absl::Time obtained_after) {
  return e.token != nullptr && e.token_expiry - now >= min_validity &&
         e.token_received > obtained_after;
}

CachedToken TokenCache::Serve(const Entry& e, const Now& now, bool from_cache) {
  return CachedToken{e.token, from_cache, now.wall + (e.token_expiry - now.steady)};
}

void TokenCache::Get(const TokenRequest& request, TokenCallback done) {
  const Now now = ReadClocks();
  Key key = MakeKey(request);
  if (!request.force_refresh) {
    std::optional<CachedToken> hit;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        Entry& e = *it->second;
        e.last_used_ns.store(absl::ToUnixNanos(now.steady), std::memory_order_relaxed);
        if (Fresh(e, now.steady, request.min_validity, absl::InfinitePast())) {
          hit = Serve(e, now, true);
        }
      }
    }
    if (hit.has_value()) {
      metrics_.TokenLookup(request.credential->name, true);
      done(*std::move(hit));
      return;
    }
  }
  metrics_.TokenLookup(request.credential->name, false);
  Callbacks callbacks;
  {
    absl::MutexLock lock(&mu_);
    Entry& e = FindOrCreateLocked(key, request, now.steady);
    WaitLocked(e, request, now, std::move(done), &callbacks);
  }
  for (auto& callback : callbacks) callback();
}

void TokenCache::WaitLocked(Entry& e, const TokenRequest& request, const Now& clocks,
                            TokenCallback done, Callbacks* callbacks) {
  const absl::Time now = clocks.steady;
  // The caller's deadline, on the steady clock: the time it had left when it arrived.
  const absl::Time deadline = request.deadline == absl::InfiniteFuture()
                                  ? absl::InfiniteFuture()
                                  : now + (request.deadline - clocks.wall);
  e.last_used_ns.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
  absl::Time obtained_after = request.force_refresh ? now : absl::InfinitePast();
  if (Fresh(e, now, request.min_validity, obtained_after)) {
    callbacks->push_back([done = std::move(done), token = Serve(e, clocks, true)] { done(token); });
    return;
  }
  if (e.credential->version != request.credential->version) {
    e.credential = request.credential;  // Newer content than the entry knew: forget rejections.
    e.rejection = absl::OkStatus();
    e.rejected_until = absl::InfinitePast();
  }
  if (e.rejected_until > now) {
    callbacks->push_back([done = std::move(done), status = e.rejection] { done(status); });
    return;
  }
  if (e.throttled_until > now && deadline < e.throttled_until) {
    absl::Duration wait = e.throttled_until - now;
    callbacks->push_back([done = std::move(done), wait] {
      done(Unavailable(absl::UnavailableError(absl::StrCat(
                           "identity provider asked to retry after ", absl::FormatDuration(wait))),
                       wait));
    });
    return;
  }
  if (request.force_refresh && !e.fetching) {
    const absl::Time slot = NextRequestSlotLocked(e, now);
    if (slot > now) {
      const absl::Duration wait = slot - now;
      ErrorDetails details;
      details.reason = "FORCE_REFRESH_LIMITED";
      details.retry_after = wait;
      callbacks->push_back(
          [done = std::move(done), wait, details, limit = options_.max_requests_per_minute] {
            done(WithErrorDetails(absl::ResourceExhaustedError(absl::StrCat(
                                      "force_refresh: at most ", limit,
                                      " token requests per key per minute; the next is allowed in ",
                                      absl::FormatDuration(absl::Ceil(wait, absl::Seconds(1))))),
                                  details));
          });
      return;
    }
  }
  uint64_t id = next_id_++;
  e.waiters.push_back(Waiter{id, request.min_validity, obtained_after, std::move(done)});
  if (!e.fetching) StartFetchLocked(e);
  if (deadline != absl::InfiniteFuture()) {
    runner_.PostAt(deadline, [this, key = e.key, id] { ExpireWaiter(key, id); });
  }
}

TokenCache::Entry& TokenCache::FindOrCreateLocked(const Key& key, const TokenRequest& request,
                                                  absl::Time now) {
  auto it = entries_.find(key);
  if (it != entries_.end()) return *it->second;
  if (entries_.size() >= options_.max_entries) EvictOneLocked(now);
  auto entry = std::make_unique<Entry>();
  entry->key = key;
  entry->target = request.target;
  entry->credential = request.credential;
  entry->last_used_ns.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
  Entry& ref = *entry;
  entries_.emplace(key, std::move(entry));
  return ref;
}

void TokenCache::EvictOneLocked(absl::Time now) {
  auto victim = entries_.end();
  bool victim_expired = false;
  int64_t victim_used = 0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = *it->second;
    if (e.fetching || !e.waiters.empty() || !e.watchers.empty()) continue;
    bool expired = e.token == nullptr || e.token_expiry <= now;
    int64_t used = e.last_used_ns.load(std::memory_order_relaxed);
    if (victim == entries_.end() || (expired && !victim_expired) ||
        (expired == victim_expired && used < victim_used)) {
      victim = it;
      victim_expired = expired;
      victim_used = used;
    }
  }
  if (victim != entries_.end()) entries_.erase(victim);
}

absl::Time TokenCache::NextRequestSlotLocked(Entry& e, absl::Time now) {
  while (!e.recent_requests.empty() && e.recent_requests.front() <= now - absl::Minutes(1)) {
    e.recent_requests.pop_front();
  }
  if (static_cast<int>(e.recent_requests.size()) < options_.max_requests_per_minute) return now;
  return e.recent_requests.front() + absl::Minutes(1);
}

void TokenCache::StartFetchLocked(Entry& e) {
  e.fetching = true;
  e.attempt = 0;
  const absl::Time now = clock_.SteadyNow();
  const absl::Time slot = NextRequestSlotLocked(e, now);
  if (slot > now) {
    runner_.PostAt(slot, [this, key = e.key] { Attempt(key); });
  } else {
    runner_.Post([this, key = e.key] { Attempt(key); });
  }
}

bool TokenCache::InUseLocked(const Entry& e, absl::Time now) const {
  absl::Time last_used = absl::FromUnixNanos(e.last_used_ns.load(std::memory_order_relaxed));
  return !e.watchers.empty() || !e.waiters.empty() || now - last_used < options_.idle_timeout;
}

absl::Duration TokenCache::Backoff(int attempt, absl::Duration retry_after) const {
  absl::Duration base = options_.initial_backoff;
  for (int i = 1; i < attempt && base < options_.max_backoff; ++i) base *= 2;
  base = std::min(base, options_.max_backoff);
  absl::Duration jittered = base * (0.5 + 0.5 * options_.random());
  return std::max(jittered, retry_after);
}

void TokenCache::ScheduleRefreshLocked(Entry& e) {
  const AccessToken& token = *e.token;
  // The token's times are wall-clock times at its receipt (obtained_at): their offsets from
  // obtained_at are placed on the steady clock from when it arrived.
  const absl::Duration lifetime = e.token_expiry - e.token_received;
  absl::Time at;
  if (lifetime > 2 * (options_.refresh_before + options_.refresh_jitter)) {
    at = e.token_expiry - options_.refresh_before - options_.refresh_jitter * options_.random();
    if (token.refresh_at.has_value()) {
      at = std::min(at, e.token_received + (*token.refresh_at - token.obtained_at));
    }
  } else {
    at = token.refresh_at.has_value() ? e.token_received + (*token.refresh_at - token.obtained_at)
                                      : e.token_received + lifetime / 2;
  }
  uint64_t generation = ++e.refresh_generation;
  runner_.PostAt(at, [this, key = e.key, generation] { Refresh(key, generation); });
}

void TokenCache::Refresh(const Key& key, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (e.refresh_generation != generation || e.fetching) return;
  if (!InUseLocked(e, clock_.SteadyNow())) return;  // Nobody asked for a while: let it lapse.
  StartFetchLocked(e);
}

void TokenCache::ExpireWaiter(const Key& key, uint64_t waiter_id) {
  TokenCallback done;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    std::vector<Waiter>& waiters = it->second->waiters;
    auto w = std::find_if(waiters.begin(), waiters.end(),
                          [&](const Waiter& x) { return x.id == waiter_id; });
    if (w == waiters.end()) return;
    done = std::move(w->done);
    waiters.erase(w);
  }
  done(absl::DeadlineExceededError(
      "no token within the call's deadline; the request to the identity provider goes on"));
}

void TokenCache::Attempt(const Key& key) {
  std::shared_ptr<const Credential> credential;
  TokenTarget target;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    credential = it->second->credential;
    target = it->second->target;
    it->second->recent_requests.push_back(clock_.SteadyNow());
  }
  absl::StatusOr<AccessToken> result = fetcher_.Fetch(*credential, key.tenant, target);
  const Now clocks = ReadClocks();
  const absl::Time now = clocks.steady;
  metrics_.TokenRequest(credential->name, result.ok() ? RenewalOutcome::kSuccess
                                          : IsTransient(result.status())
                                              ? RenewalOutcome::kTransientFailure
                                              : RenewalOutcome::kRejected);

  Callbacks callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    auto fail_waiters = [&](const absl::Status& status) {
      for (Waiter& w : e.waiters) {
        callbacks.push_back([done = std::move(w.done), status] { done(status); });
      }
      e.waiters.clear();
    };
    auto notify_watchers = [&](const absl::StatusOr<CachedToken>& value) {
      for (auto& [id, watcher] : e.watchers) {
        callbacks.push_back([watcher = watcher, value] { watcher(value); });
      }
    };

    if (result.ok()) {
      e.token = std::make_shared<const AccessToken>(*std::move(result));
      e.token_received = now;
      e.token_expiry = now + (e.token->expires_at - e.token->obtained_at);
      e.token_version = credential->version;
      e.fetching = false;
      e.attempt = 0;
      e.rejection = absl::OkStatus();
      e.rejected_until = absl::InfinitePast();
      e.throttled_until = absl::InfinitePast();
      const CachedToken fresh = Serve(e, clocks, false);
      for (Waiter& w : e.waiters) {
        if (Fresh(e, now, w.min_validity, absl::InfinitePast())) {
          callbacks.push_back([done = std::move(w.done), fresh] { done(fresh); });
        } else {
          absl::Status short_lived = absl::UnavailableError(absl::StrCat(
              "the identity provider issued a token valid for ",
              absl::FormatDuration(absl::Trunc(e.token_expiry - now, absl::Seconds(1))),
              ", less than the min_validity asked for"));
          callbacks.push_back([done = std::move(w.done), short_lived] { done(short_lived); });
        }
      }
      e.waiters.clear();
      notify_watchers(fresh);
      ScheduleRefreshLocked(e);
      if (e.credential->version != e.token_version && !e.fetching) {
        StartFetchLocked(e);  // The credential rotated during the request: renew again.
      }
    } else if (IsTransient(result.status())) {
      ++e.attempt;
      absl::Duration retry_after =
          GetErrorDetails(result.status()).value_or(ErrorDetails()).retry_after;
      if (retry_after > absl::ZeroDuration()) e.throttled_until = now + retry_after;
      if (!e.waiters.empty() && e.attempt >= options_.max_attempts) {
        fail_waiters(Unavailable(result.status(), retry_after));
      }
      bool token_valid = e.token != nullptr && e.token_expiry > now;
      if (!token_valid && e.waiters.empty() && !e.watchers.empty() &&
          e.attempt == options_.max_attempts) {
        notify_watchers(Unavailable(result.status(), retry_after));
      }
      if (!e.waiters.empty() || !e.watchers.empty() || (token_valid && InUseLocked(e, now))) {
        runner_.PostAt(now + Backoff(e.attempt, retry_after), [this, key] { Attempt(key); });
      } else {
        e.fetching = false;
      }
    } else if (credential->version != e.credential->version) {
      // Rejected, but the credential rotated while the request was out: the answer was about
      // the old version (e.g. a secret revoked as its successor rolled out). Ask again with the
      // new one, within the request limit; waiters keep waiting.
      LogInfo(
          "token request rejected for the previous credential version; asking again with "
          "the new one",
          {{"credential", key.credential}, {"tenant", key.tenant}});
      StartFetchLocked(e);
    } else {
      e.rejection = result.status();
      e.rejected_until = now + options_.rejection_ttl;
      e.fetching = false;
      fail_waiters(result.status());
      if (e.token == nullptr || e.token_expiry <= now) notify_watchers(result.status());
    }
  }
  for (auto& callback : callbacks) callback();
}

uint64_t TokenCache::Watch(const TokenRequest& request, TokenCallback on_token) {
  uint64_t id;
  std::function<void()> first;
  {
    absl::MutexLock lock(&mu_);
    const Now clocks = ReadClocks();
    const absl::Time now = clocks.steady;
    Key key = MakeKey(request);
    Entry& e = FindOrCreateLocked(key, request, now);
    e.last_used_ns.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
    id = next_id_++;
    e.watchers.emplace(id, on_token);
    watch_keys_.emplace(id, key);
    // The first token now if one is fresh; otherwise from the fetch that renewals notify.
    if (Fresh(e, now, request.min_validity, absl::InfinitePast())) {
      first = [on_token, token = Serve(e, clocks, true)] { on_token(token); };
    } else if (e.rejected_until > now && e.credential->version == request.credential->version) {
      first = [on_token, status = e.rejection] { on_token(status); };
    } else if (!e.fetching) {
      StartFetchLocked(e);
    }
  }
  if (first) first();
  return id;
}

void TokenCache::Unwatch(uint64_t watch_id) {
  absl::MutexLock lock(&mu_);
  auto it = watch_keys_.find(watch_id);
  if (it == watch_keys_.end()) return;
  auto entry = entries_.find(it->second);
  if (entry != entries_.end()) entry->second->watchers.erase(watch_id);
  watch_keys_.erase(it);
}

void TokenCache::OnCredentialChanged(const std::shared_ptr<const Credential>& credential) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_.SteadyNow();
  for (auto& [key, entry] : entries_) {
    Entry& e = *entry;
    if (key.credential != credential->name) continue;
    e.credential = credential;
    e.rejection = absl::OkStatus();
    e.rejected_until = absl::InfinitePast();
    if (e.token != nullptr && e.token_version != credential->version && !e.fetching &&
        InUseLocked(e, now)) {
      LogInfo("renewing token after credential rotation",
              {{"credential", key.credential}, {"tenant", key.tenant}});
      StartFetchLocked(e);
    }
  }
}

void TokenCache::FailAllWaiters(const absl::Status& status) {
  std::vector<TokenCallback> waiting;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, entry] : entries_) {
      for (Waiter& w : entry->waiters) waiting.push_back(std::move(w.done));
      entry->waiters.clear();
    }
  }
  for (TokenCallback& done : waiting) done(status);
}

size_t TokenCache::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

std::map<std::string, absl::Time> TokenCache::SoonestExpiryByCredential() const {
  std::map<std::string, absl::Time> soonest;  // Steady, until the end.
  const Now now = ReadClocks();
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [key, entry] : entries_) {
      // Idle entries are not renewed and may lapse: only tokens in use say renewal is healthy.
      if (entry->token == nullptr || !InUseLocked(*entry, now.steady)) continue;
      auto [it, inserted] = soonest.emplace(key.credential, entry->token_expiry);
      if (!inserted) it->second = std::min(it->second, entry->token_expiry);
    }
  }
  for (auto& [credential, expiry] : soonest) expiry = now.wall + (expiry - now.steady);
  return soonest;
}

}  // namespace tokend
