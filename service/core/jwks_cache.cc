#include "service/core/jwks_cache.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "service/common/logging.h"
#include "service/core/identifiers.h"

namespace tokend {
namespace {

// With nothing cached, a failed fetch is not retried for new callers before this gap (at most
// unknown_kid_interval): they get UNAVAILABLE at once instead of hammering a failing endpoint.
constexpr absl::Duration kColdRetryGap = absl::Seconds(10);

JwksCacheOptions WithDefaults(JwksCacheOptions options) {
  if (options.max_tenants == 0) options.max_tenants = 1;
  return options;
}

// The host (and port) of an absolute URL, for logs.
std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string Kids(const JwkSet& set) {
  std::vector<std::string> kids;
  kids.reserve(set.keys.size());
  for (const Jwk& key : set.keys) kids.push_back(key.kid);
  return absl::StrJoin(kids, ",");
}

absl::Status NoKeys(const std::string& tenant, const std::string& version,
                    const absl::Status& cause) {
  return absl::UnavailableError(absl::StrCat("no signing keys for tenant ", tenant, " (v", version,
                                             " tokens): ", cause.message()));
}

}  // namespace

class JwksCache::Impl {
 public:
  Impl(HttpClient& http, Clock& clock, TaskRunner& runner, std::string authority_host,
       JwksCacheOptions options)
      : http_(http),
        clock_(clock),
        runner_(runner),
        authority_(std::move(authority_host)),
        options_(WithDefaults(std::move(options))),
        metrics_(options_.metrics != nullptr ? *options_.metrics : NoMetrics()) {
    while (!authority_.empty() && authority_.back() == '/') authority_.pop_back();
  }

  void GetKeys(const std::string& tenant, const std::string& version, const std::string& kid,
               KeysCallback done);
  JwksCacheStats Stats() const;

 private:
  using EntryKey = std::pair<std::string, std::string>;  // Tenant, version.
  using Callbacks = std::vector<std::function<void()>>;

  // A caller waiting for a tenant's discovery document.
  struct Waiter {
    std::string kid;
    KeysCallback done;
  };
  // A caller waiting for a key set.
  struct KeyWaiter {
    std::string tenant;
    std::string version;
    std::string issuer;
    KeysCallback done;
  };
  // One (tenant, version): its discovery document. All absl::Time fields of Entry and KeySet
  // are steady times (Clock::SteadyNow).
  struct Entry {
    std::string tenant;
    std::string version;
    bool discovered = false;  // issuer and jwks_uri hold the last good document.
    std::string issuer;       // {tenantid} replaced.
    std::string jwks_uri;
    bool fetching = false;
    absl::Status last_error;  // Of the last discovery fetch.
    absl::Time failed_at = absl::InfinitePast();
    std::vector<Waiter> waiters;
    absl::Time last_used = absl::InfinitePast();
  };
  // The keys of one jwks_uri, shared by the entries that name it.
  struct KeySet {
    std::string uri;
    std::string tenant;                  // The first tenant that named it, for logs.
    std::shared_ptr<const JwkSet> keys;  // Null until a fetch succeeds, and after key_ttl.
    absl::Time fetched_at = absl::InfinitePast();        // Last successful fetch.
    absl::Time last_attempt = absl::InfinitePast();      // Start of the last fetch.
    absl::Time last_kid_refetch = absl::InfinitePast();  // Start of the last unknown-kid fetch.
    absl::Status last_error;                             // Of the last fetch.
    bool fetching = false;
    std::vector<KeyWaiter> waiters;
    absl::Time last_used = absl::InfinitePast();
    uint64_t refresh_generation = 0;  // Outdates earlier refresh timers.
  };

  std::string DiscoveryUrl(const std::string& tenant, const std::string& version) const;
  absl::Duration ColdRetryGap() const {
    return std::min(kColdRetryGap, options_.unknown_kid_interval);
  }
  // GET `url`: the body of a 200 response, or why not.
  absl::StatusOr<std::string> Fetch(const std::string& url, absl::string_view what);

  Entry& FindOrCreateEntryLocked(const EntryKey& key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictOneEntryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KeySet& FindOrCreateKeySetLocked(const std::string& uri, const std::string& tenant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Erases the key set of `uri` if no entry names it and no fetch or caller needs it.
  void CollectKeySetLocked(const std::string& uri) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops keys older than key_ttl.
  void ExpireLocked(KeySet& ks, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers a caller of a discovered entry from its key set, or queues it there.
  void RouteLocked(const Entry& e, std::string kid, KeysCallback done, absl::Time now,
                   Callbacks* callbacks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartDiscoveryLocked(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartKeysFetchLocked(KeySet& ks, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleRefreshLocked(KeySet& ks, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void FetchDiscovery(const EntryKey& key);
  void FetchKeys(const std::string& uri);
  void Refresh(const std::string& uri, uint64_t generation);

  // Constant after construction.
  HttpClient& http_;
  Clock& clock_;
  TaskRunner& runner_;
  std::string authority_;
  const JwksCacheOptions options_;
  Metrics& metrics_;

  mutable absl::Mutex mu_;
  std::map<EntryKey, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<KeySet>> key_sets_ ABSL_GUARDED_BY(mu_);
};

std::string JwksCache::Impl::DiscoveryUrl(const std::string& tenant,
                                          const std::string& version) const {
  return version == "2.0"
             ? absl::StrCat(authority_, "/", tenant, "/v2.0/.well-known/openid-configuration")
             : absl::StrCat(authority_, "/", tenant, "/.well-known/openid-configuration");
}

absl::StatusOr<std::string> JwksCache::Impl::Fetch(const std::string& url, absl::string_view what) {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.timeout = options_.request_timeout;
  absl::StatusOr<HttpResponse> response = http_.Send(request);
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat(what, " from ", HostOf(url), ": ", response.status().message()));
  }
  if (response->status != 200) {
    return absl::UnavailableError(
        absl::StrCat(what, " from ", HostOf(url), ": HTTP ", response->status));
  }
  return std::move(response->body);
}

void JwksCache::Impl::GetKeys(const std::string& tenant, const std::string& version,
                              const std::string& kid, KeysCallback done) {
  if (!IsGuid(tenant)) {
    done(absl::InvalidArgumentError("the tenant of a token to validate must be a GUID"));
    return;
  }
  if (version != "1.0" && version != "2.0") {
    done(absl::InvalidArgumentError("the token version must be \"1.0\" or \"2.0\""));
    return;
  }
  absl::Time now = clock_.SteadyNow();
  Callbacks callbacks;
  {
    absl::MutexLock lock(&mu_);
    Entry& e = FindOrCreateEntryLocked(EntryKey(tenant, version), now);
    e.last_used = now;
    if (e.discovered) {
      RouteLocked(e, kid, std::move(done), now, &callbacks);
    } else if (!e.fetching && now - e.failed_at < ColdRetryGap()) {
      callbacks.push_back([done = std::move(done), status = NoKeys(tenant, version, e.last_error)] {
        done(status);
      });
    } else {
      e.waiters.push_back(Waiter{kid, std::move(done)});
      if (!e.fetching) StartDiscoveryLocked(e);
    }
  }
  for (auto& callback : callbacks) callback();
}

JwksCache::Impl::Entry& JwksCache::Impl::FindOrCreateEntryLocked(const EntryKey& key,
                                                                 absl::Time now) {
  auto it = entries_.find(key);
  if (it != entries_.end()) return *it->second;
  if (entries_.size() >= options_.max_tenants) EvictOneEntryLocked();
  auto entry = std::make_unique<Entry>();
  entry->tenant = key.first;
  entry->version = key.second;
  entry->last_used = now;
  Entry& ref = *entry;
  entries_.emplace(key, std::move(entry));
  return ref;
}

void JwksCache::Impl::EvictOneEntryLocked() {
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = *it->second;
    if (e.fetching || !e.waiters.empty()) continue;
    if (victim == entries_.end() || e.last_used < victim->second->last_used) victim = it;
  }
  if (victim == entries_.end()) return;  // All busy: exceed the bound until they finish.
  std::string uri = victim->second->discovered ? victim->second->jwks_uri : "";
  entries_.erase(victim);
  if (!uri.empty()) CollectKeySetLocked(uri);
}

JwksCache::Impl::KeySet& JwksCache::Impl::FindOrCreateKeySetLocked(const std::string& uri,
                                                                   const std::string& tenant) {
  std::unique_ptr<KeySet>& slot = key_sets_[uri];
  if (slot == nullptr) {
    slot = std::make_unique<KeySet>();
    slot->uri = uri;
    slot->tenant = tenant;
  }
  return *slot;
}

void JwksCache::Impl::CollectKeySetLocked(const std::string& uri) {
  auto it = key_sets_.find(uri);
  if (it == key_sets_.end()) return;
  if (it->second->fetching || !it->second->waiters.empty()) return;
  for (const auto& [key, entry] : entries_) {
    if (entry->discovered && entry->jwks_uri == uri) return;
  }
  key_sets_.erase(it);
}

void JwksCache::Impl::ExpireLocked(KeySet& ks, absl::Time now) {
  if (ks.keys == nullptr || now - ks.fetched_at < options_.key_ttl) return;
  LogWarning("signing keys expired: no successful refresh within their lifetime",
             {{"tenant", ks.tenant},
              {"jwks_host", HostOf(ks.uri)},
              {"kids", Kids(*ks.keys)},
              {"key_ttl", absl::FormatDuration(options_.key_ttl)}});
  ks.keys = nullptr;
}

void JwksCache::Impl::RouteLocked(const Entry& e, std::string kid, KeysCallback done,
                                  absl::Time now, Callbacks* callbacks) {
  KeySet& ks = FindOrCreateKeySetLocked(e.jwks_uri, e.tenant);
  ks.last_used = now;
  ExpireLocked(ks, now);
  if (ks.keys != nullptr) {
    bool known = kid.empty() || ks.keys->Find(kid) != nullptr;
    // Unknown-kid refetches are limited among themselves: a rollover right after a scheduled
    // fetch is still picked up at once, and a stream of made-up kids costs one fetch per
    // interval.
    bool refetch_allowed = now - ks.last_kid_refetch >= options_.unknown_kid_interval;
    if (known || (!ks.fetching && !refetch_allowed)) {
      callbacks->push_back(
          [done = std::move(done), keys = IssuerKeys{e.issuer, ks.keys}] { done(keys); });
      return;
    }
    // Unknown kid: share the fetch in flight, or start the one allowed.
    if (!ks.fetching) {
      ks.last_kid_refetch = now;
      LogInfo("unknown kid: refetching signing keys",
              {{"tenant", e.tenant}, {"jwks_host", HostOf(ks.uri)}, {"kid", kid}});
    }
  } else if (!ks.fetching && !ks.last_error.ok() && now - ks.last_attempt < ColdRetryGap()) {
    callbacks->push_back([done = std::move(done),
                          status = NoKeys(e.tenant, e.version, ks.last_error)] { done(status); });
    return;
  }
  ks.waiters.push_back(KeyWaiter{e.tenant, e.version, e.issuer, std::move(done)});
  if (!ks.fetching) StartKeysFetchLocked(ks, now);
}

void JwksCache::Impl::StartDiscoveryLocked(Entry& e) {
  e.fetching = true;
  runner_.Post([this, key = EntryKey(e.tenant, e.version)] { FetchDiscovery(key); });
}

void JwksCache::Impl::StartKeysFetchLocked(KeySet& ks, absl::Time now) {
  ks.fetching = true;
  ks.last_attempt = now;
  runner_.Post([this, uri = ks.uri] { FetchKeys(uri); });
}

void JwksCache::Impl::ScheduleRefreshLocked(KeySet& ks, absl::Time now) {
  uint64_t generation = ++ks.refresh_generation;
  runner_.PostAt(now + options_.refresh_interval,
                 [this, uri = ks.uri, generation] { Refresh(uri, generation); });
}

void JwksCache::Impl::FetchDiscovery(const EntryKey& key) {
  const std::string& tenant = key.first;
  const std::string& version = key.second;
  std::string url = DiscoveryUrl(tenant, version);
  FetchOutcome outcome = FetchOutcome::kFailed;
  absl::StatusOr<DiscoveryDocument> document = [&]() -> absl::StatusOr<DiscoveryDocument> {
    absl::StatusOr<std::string> body = Fetch(url, "discovery document");
    if (!body.ok()) return body.status();
    absl::StatusOr<DiscoveryDocument> parsed = ParseDiscovery(*body);
    outcome = parsed.ok() ? FetchOutcome::kOk : FetchOutcome::kRejected;
    if (!parsed.ok()) {
      return absl::UnavailableError(
          absl::StrCat("from ", HostOf(url), ": ", parsed.status().message()));
    }
    return parsed;
  }();
  metrics_.KeyFetch(KeyDocument::kDiscovery, outcome);
  absl::Time now = clock_.SteadyNow();

  Callbacks callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;  // Not evicted while fetching; defensive.
    Entry& e = *it->second;
    e.fetching = false;
    if (document.ok()) {
      std::string issuer = absl::StrReplaceAll(document->issuer, {{"{tenantid}", tenant}});
      std::string old_uri = e.discovered ? e.jwks_uri : "";
      bool changed = !e.discovered || e.issuer != issuer || e.jwks_uri != document->jwks_uri;
      e.discovered = true;
      e.issuer = std::move(issuer);
      e.jwks_uri = document->jwks_uri;
      e.last_error = absl::OkStatus();
      e.failed_at = absl::InfinitePast();
      if (changed) {
        LogInfo("fetched discovery document", {{"tenant", tenant},
                                               {"version", version},
                                               {"issuer", e.issuer},
                                               {"jwks_host", HostOf(e.jwks_uri)}});
      }
      std::vector<Waiter> waiters = std::move(e.waiters);
      e.waiters.clear();
      for (Waiter& w : waiters)
        RouteLocked(e, std::move(w.kid), std::move(w.done), now, &callbacks);
      if (!old_uri.empty() && old_uri != e.jwks_uri) {
        // The tenant moved to another jwks_uri: fetch it ahead of the next caller.
        KeySet& ks = FindOrCreateKeySetLocked(e.jwks_uri, e.tenant);
        if (ks.keys == nullptr && !ks.fetching) StartKeysFetchLocked(ks, now);
        CollectKeySetLocked(old_uri);
      }
    } else {
      e.last_error = document.status();
      LogWarning(
          e.discovered ? "discovery document refresh failed; keeping the last good one"
                       : "discovery document fetch failed",
          {{"tenant", tenant}, {"version", version}, {"error", document.status().message()}});
      if (!e.discovered) {
        e.failed_at = now;
        absl::Status status = NoKeys(tenant, version, document.status());
        for (Waiter& w : e.waiters) {
          callbacks.push_back([done = std::move(w.done), status] { done(status); });
        }
        e.waiters.clear();
      } else {
        std::vector<Waiter> waiters = std::move(e.waiters);
        e.waiters.clear();
        for (Waiter& w : waiters) {
          RouteLocked(e, std::move(w.kid), std::move(w.done), now, &callbacks);
        }
      }
    }
  }
  for (auto& callback : callbacks) callback();
}

void JwksCache::Impl::FetchKeys(const std::string& uri) {
  std::string tenant;
  {
    absl::MutexLock lock(&mu_);
    auto it = key_sets_.find(uri);
    if (it == key_sets_.end()) return;  // Not erased while fetching; defensive.
    tenant = it->second->tenant;
  }
  FetchOutcome outcome = FetchOutcome::kFailed;
  absl::StatusOr<JwkSet> fetched = [&]() -> absl::StatusOr<JwkSet> {
    absl::StatusOr<std::string> body = Fetch(uri, "signing keys");
    if (!body.ok()) return body.status();
    outcome = FetchOutcome::kRejected;
    absl::StatusOr<JwkSet> parsed = ParseJwks(*body);
    if (!parsed.ok()) {
      return absl::UnavailableError(
          absl::StrCat("signing keys from ", HostOf(uri), ": ", parsed.status().message()));
    }
    for (const std::string& note : parsed->notes) {
      LogWarning("skipped a signing key",
                 {{"tenant", tenant}, {"jwks_host", HostOf(uri)}, {"note", note}});
    }
    if (parsed->keys.empty()) {
      return absl::UnavailableError(
          absl::StrCat("signing keys from ", HostOf(uri), ": no usable key in the document"));
    }
    outcome = FetchOutcome::kOk;
    return parsed;
  }();
  metrics_.KeyFetch(KeyDocument::kKeys, outcome);
  absl::Time now = clock_.SteadyNow();

  Callbacks callbacks;
  {
    absl::MutexLock lock(&mu_);
    auto it = key_sets_.find(uri);
    if (it == key_sets_.end()) return;
    KeySet& ks = *it->second;
    ks.fetching = false;
    if (fetched.ok()) {
      std::string previous = ks.keys != nullptr ? Kids(*ks.keys) : "";
      ks.keys = std::make_shared<const JwkSet>(*std::move(fetched));
      ks.fetched_at = now;
      ks.last_error = absl::OkStatus();
      std::string kids = Kids(*ks.keys);
      if (kids != previous) {
        LogInfo("fetched signing keys", {{"tenant", ks.tenant},
                                         {"jwks_host", HostOf(uri)},
                                         {"keys", static_cast<int64_t>(ks.keys->keys.size())},
                                         {"kids", kids}});
      }
    } else {
      ks.last_error = fetched.status();
      ExpireLocked(ks, now);
      LogWarning(ks.keys != nullptr ? "signing keys refresh failed; keeping the last good keys"
                                    : "signing keys fetch failed",
                 {{"tenant", ks.tenant},
                  {"jwks_host", HostOf(uri)},
                  {"error", fetched.status().message()}});
    }
    for (KeyWaiter& w : ks.waiters) {
      if (ks.keys != nullptr) {
        callbacks.push_back(
            [done = std::move(w.done), keys = IssuerKeys{w.issuer, ks.keys}] { done(keys); });
      } else {
        callbacks.push_back(
            [done = std::move(w.done), status = NoKeys(w.tenant, w.version, ks.last_error)] {
              done(status);
            });
      }
    }
    ks.waiters.clear();
    if (ks.keys != nullptr) {
      ScheduleRefreshLocked(ks, now);  // Also retries a failed refresh.
    } else {
      CollectKeySetLocked(uri);  // `ks` may be gone.
    }
  }
  for (auto& callback : callbacks) callback();
}

void JwksCache::Impl::Refresh(const std::string& uri, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  auto it = key_sets_.find(uri);
  if (it == key_sets_.end()) return;
  KeySet& ks = *it->second;
  if (ks.refresh_generation != generation || ks.fetching) return;
  absl::Time now = clock_.SteadyNow();
  ExpireLocked(ks, now);
  if (now - ks.last_used >= options_.key_ttl) {
    return;  // Unused for a day: let the keys lapse.
  }
  // The discovery documents of the tenants using these keys first, then the keys.
  for (auto& [key, entry] : entries_) {
    Entry& e = *entry;
    if (e.discovered && e.jwks_uri == uri && !e.fetching && now - e.last_used < options_.key_ttl) {
      StartDiscoveryLocked(e);
    }
  }
  StartKeysFetchLocked(ks, now);
}

JwksCache::JwksCache(HttpClient& http, Clock& clock, TaskRunner& runner, std::string authority_host,
                     JwksCacheOptions options)
    : impl_(std::make_unique<Impl>(http, clock, runner, std::move(authority_host),
                                   std::move(options))) {}

JwksCache::~JwksCache() = default;

JwksCacheStats JwksCache::Impl::Stats() const {
  JwksCacheStats stats;
  absl::Time now = clock_.SteadyNow();
  absl::MutexLock lock(&mu_);
  for (const auto& [uri, ks] : key_sets_) {
    if (ks->keys == nullptr) continue;
    ++stats.key_sets;
    stats.keys += ks->keys->keys.size();
    stats.oldest_key_set_age = std::max(stats.oldest_key_set_age, now - ks->fetched_at);
  }
  return stats;
}

JwksCacheStats JwksCache::Stats() const { return impl_->Stats(); }

void JwksCache::GetKeys(const std::string& tenant, const std::string& version,
                        const std::string& kid, KeysCallback done) {
  impl_->GetKeys(tenant, version, kid, std::move(done));
}

}  // namespace tokend
