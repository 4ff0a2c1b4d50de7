#include "service/adapters/prometheus_metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace tokend {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// The methods of TokenService, in the order of the per-method arrays.
constexpr const char* kMethodNames[] = {"GetToken", "WatchToken", "ValidateToken", "ConsentUrl"};
constexpr const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
constexpr const char* kEndpointNames[] = {"token", "discovery", "keys"};
// OAuth 2.0 and Entra error codes kept as label values; any other becomes "other".
constexpr const char* kOauthErrors[] = {
    "invalid_client", "unauthorized_client", "invalid_grant",        "invalid_request",
    "invalid_scope",  "invalid_resource",    "interaction_required", "temporarily_unavailable"};

int MethodIndex(const char* method) {
  for (int i = 0; i < static_cast<int>(std::size(kMethodNames)); ++i) {
    if (std::string_view(method) == kMethodNames[i]) return i;
  }
  return -1;
}

const prometheus::Histogram::BucketBoundaries& RpcBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

const prometheus::Histogram::BucketBoundaries& IdpBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}

prometheus::MetricFamily Gauges(const char* name, const char* help) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  return family;
}

void AddGauge(prometheus::MetricFamily& family, double value, const char* label = nullptr,
              const std::string& label_value = "") {
  prometheus::ClientMetric metric;
  if (label != nullptr) metric.label.push_back({label, label_value});
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

}  // namespace

PrometheusMetrics::PrometheusMetrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_total_(BuildCounter()
                     .Name("tokend_grpc_requests_total")
                     .Help("TokenService calls finished, by method and gRPC status code.")
                     .Register(*registry_)),
      rpc_seconds_(BuildHistogram()
                       .Name("tokend_grpc_request_duration_seconds")
                       .Help("TokenService call latency, start to status, by method.")
                       .Register(*registry_)),
      lookups_(BuildCounter()
                   .Name("tokend_token_cache_requests_total")
                   .Help("GetToken and WatchToken lookups, by credential and result (hit: "
                         "served from memory; miss: waited for the identity provider).")
                   .Register(*registry_)),
      renewals_(BuildCounter()
                    .Name("tokend_token_renewals_total")
                    .Help("Token requests made by the cache (first fetches, renewals, retries), "
                          "by credential and outcome (success, transient_failure, rejected).")
                    .Register(*registry_)),
      idp_total_(BuildCounter()
                     .Name("tokend_idp_requests_total")
                     .Help("HTTP requests to the identity provider, by endpoint (token, "
                           "discovery, keys), outcome (ok, throttled, server_error, "
                           "client_error, transport_error) and OAuth error of a 4xx reply.")
                     .Register(*registry_)),
      idp_seconds_(BuildHistogram()
                       .Name("tokend_idp_request_duration_seconds")
                       .Help("Identity provider request latency, by endpoint.")
                       .Register(*registry_)),
      reloads_(BuildCounter()
                   .Name("tokend_secret_reloads_total")
                   .Help("Credential reloads that changed a credential (success) or were "
                         "rejected (failure; the last good version stays in use).")
                   .Register(*registry_)),
      loaded_at_(BuildGauge()
                     .Name("tokend_secret_loaded_timestamp_seconds")
                     .Help("When the credential's current content was loaded (Unix time).")
                     .Register(*registry_)),
      validations_(BuildCounter()
                       .Name("tokend_validations_total")
                       .Help("ValidateToken answers, by result (valid, invalid) and failure.")
                       .Register(*registry_)),
      key_fetches_(BuildCounter()
                       .Name("tokend_key_fetches_total")
                       .Help("Discovery document and signing key fetches, by document and "
                             "outcome (ok, failed, rejected: malformed; last good kept).")
                       .Register(*registry_)),
      policy_denials_(BuildCounter()
                          .Name("tokend_policy_denials_total")
                          .Help("Token requests the caller policy (--policy) denied, by the "
                                "deciding rule's name (none: no rule names the caller).")
                          .Register(*registry_)),
      policy_reloads_(BuildCounter()
                          .Name("tokend_policy_reloads_total")
                          .Help("Loads of the policy file on SIGHUP, by result (success; "
                                "failure: the last good policy stays in use).")
                          .Register(*registry_)),
      tls_client_denials_(BuildCounter()
                              .Name("tokend_tls_client_denials_total")
                              .Help("Calls refused because the mTLS client certificate matches "
                                    "no entry of --tls-allowed-clients.")
                              .Register(*registry_)),
      tls_reloads_(BuildCounter()
                       .Name("tokend_tls_reloads_total")
                       .Help("Changes of the TLS certificate, key or client CA files, by result "
                             "(success; failure: the last good ones stay in use).")
                       .Register(*registry_)) {
  BuildGauge()
      .Name("tokend_build_info")
      .Help("Always 1; the version label says which tokend runs.")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
  hits_ = NewSeries(lookups_, {{"result", "hit"}}, "credential");
  misses_ = NewSeries(lookups_, {{"result", "miss"}}, "credential");
  for (RenewalOutcome outcome :
       {RenewalOutcome::kSuccess, RenewalOutcome::kTransientFailure, RenewalOutcome::kRejected}) {
    renewals_by_outcome_[static_cast<int>(outcome)] =
        NewSeries(renewals_, {{"outcome", RenewalOutcomeName(outcome)}}, "credential");
  }
  reloads_by_result_[0] = NewSeries(reloads_, {{"result", "failure"}}, "credential");
  reloads_by_result_[1] = NewSeries(reloads_, {{"result", "success"}}, "credential");
  policy_denials_by_rule_ = NewSeries(policy_denials_, {}, "rule");
  policy_reload_counters_[0] = &policy_reloads_.Add({{"result", "failure"}});
  policy_reload_counters_[1] = &policy_reloads_.Add({{"result", "success"}});
  tls_reload_counters_[0] = &tls_reloads_.Add({{"result", "failure"}});
  tls_reload_counters_[1] = &tls_reloads_.Add({{"result", "success"}});
  tls_client_denial_counter_ = &tls_client_denials_.Add({});
  for (int m = 0; m < kMethods; ++m) {
    if (m == 1) continue;  // WatchToken streams have no latency to speak of.
    rpc_histograms_[m] = &rpc_seconds_.Add({{"method", kMethodNames[m]}}, RpcBuckets());
  }
  for (int e = 0; e < 3; ++e) {
    idp_histograms_[e] = &idp_seconds_.Add({{"endpoint", kEndpointNames[e]}}, IdpBuckets());
  }
}

PrometheusMetrics::~PrometheusMetrics() = default;

std::unique_ptr<PrometheusMetrics::Series> PrometheusMetrics::NewSeries(
    prometheus::Family<prometheus::Counter>& family, prometheus::Labels fixed,
    std::string key_label) {
  auto series = std::make_unique<Series>();
  series->family = &family;
  series->fixed = std::move(fixed);
  series->key_label = std::move(key_label);
  return series;
}

prometheus::Counter& PrometheusMetrics::Get(Series& series, const std::string& value) {
  {
    absl::ReaderMutexLock lock(&series.mu);
    auto it = series.by_value.find(value);
    if (it != series.by_value.end()) return *it->second;
  }
  absl::MutexLock lock(&series.mu);
  prometheus::Counter*& counter = series.by_value[value];
  if (counter == nullptr) {
    prometheus::Labels labels = series.fixed;
    labels[series.key_label] = value;
    counter = &series.family->Add(labels);
  }
  return *counter;
}

void PrometheusMetrics::TokenLookup(const std::string& credential, bool hit) {
  Get(hit ? *hits_ : *misses_, credential).Increment();
}

void PrometheusMetrics::TokenRequest(const std::string& credential, RenewalOutcome outcome) {
  Get(*renewals_by_outcome_[static_cast<int>(outcome)], credential).Increment();
}

void PrometheusMetrics::KeyFetch(KeyDocument document, FetchOutcome outcome) {
  // Rare (hourly per key set): the family's own lookup is cheap enough.
  key_fetches_
      .Add({{"document", KeyDocumentName(document)}, {"outcome", FetchOutcomeName(outcome)}})
      .Increment();
}

void PrometheusMetrics::Validation(JwtFailure failure) {
  const int index = static_cast<int>(failure);
  if (index < 0 || index >= static_cast<int>(validation_counters_.size())) return;
  prometheus::Counter* counter = validation_counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    absl::MutexLock lock(&mu_);
    counter = &validations_.Add(
        {{"result", failure == JwtFailure::kNone ? "valid" : "invalid"},
         {"failure",
          failure == JwtFailure::kNone ? "none" : std::string(JwtFailureName(failure))}});
    validation_counters_[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

void PrometheusMetrics::Rpc(const char* method, int code, absl::Duration elapsed) {
  const int m = MethodIndex(method);
  if (m < 0) return;
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  prometheus::Counter* counter = rpc_counters_[m][code].load(std::memory_order_acquire);
  if (counter == nullptr) {
    absl::MutexLock lock(&mu_);
    counter = &rpc_total_.Add({{"method", kMethodNames[m]}, {"code", kCodeNames[code]}});
    rpc_counters_[m][code].store(counter, std::memory_order_release);
  }
  counter->Increment();
  if (m != 1) rpc_histograms_[m]->Observe(absl::ToDoubleSeconds(elapsed));  // Not WatchToken.
}

void PrometheusMetrics::SecretReload(const std::string& credential, bool ok) {
  Get(*reloads_by_result_[ok ? 1 : 0], credential).Increment();
}

void PrometheusMetrics::PolicyDenial(const std::string& rule) {
  Get(*policy_denials_by_rule_, rule.empty() ? "none" : rule).Increment();
}

void PrometheusMetrics::PolicyReload(bool ok) { policy_reload_counters_[ok ? 1 : 0]->Increment(); }

void PrometheusMetrics::TlsClientDenial() { tls_client_denial_counter_->Increment(); }

void PrometheusMetrics::TlsReload(bool ok) { tls_reload_counters_[ok ? 1 : 0]->Increment(); }

void PrometheusMetrics::SecretLoaded(const std::string& credential, absl::Time when) {
  absl::MutexLock lock(&mu_);
  prometheus::Gauge*& gauge = loaded_gauges_[credential];
  if (gauge == nullptr) gauge = &loaded_at_.Add({{"credential", credential}});
  gauge->Set(absl::ToDoubleSeconds(when - absl::UnixEpoch()));
}

void PrometheusMetrics::IdpRequest(IdpEndpoint endpoint, int status, const std::string& oauth_error,
                                   absl::Duration elapsed) {
  const int e = static_cast<int>(endpoint);
  const char* outcome = status == 0                     ? "transport_error"
                        : status >= 200 && status < 300 ? "ok"
                        : status == 429                 ? "throttled"
                        : status >= 500                 ? "server_error"
                                                        : "client_error";
  std::string error = "";
  if (!oauth_error.empty()) {
    error = "other";
    for (const char* known : kOauthErrors) {
      if (oauth_error == known) error = known;
    }
  }
  idp_total_.Add({{"endpoint", kEndpointNames[e]}, {"outcome", outcome}, {"error", error}})
      .Increment();
  idp_histograms_[e]->Observe(absl::ToDoubleSeconds(elapsed));
}

void PrometheusMetrics::SetScrapeSource(std::function<void(ScrapeState*)> source) {
  absl::MutexLock lock(&scrape_mu_);
  scrape_source_ = std::move(source);
}

std::string PrometheusMetrics::Scrape() {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  ScrapeState state;
  bool have_state = false;
  {
    absl::MutexLock lock(&scrape_mu_);
    if (scrape_source_) {
      scrape_source_(&state);
      have_state = true;
    }
  }
  if (have_state) {
    prometheus::MetricFamily entries =
        Gauges("tokend_token_cache_entries", "Token cache entries in memory.");
    AddGauge(entries, static_cast<double>(state.token_cache_entries));
    families.push_back(std::move(entries));
    prometheus::MetricFamily expiry =
        Gauges("tokend_token_min_seconds_until_expiry",
               "Seconds until the soonest-expiring cached token of the credential expires.");
    for (const auto& [credential, seconds] : state.token_seconds_until_expiry) {
      AddGauge(expiry, seconds, "credential", credential);
    }
    families.push_back(std::move(expiry));
    prometheus::MetricFamily up = Gauges(
        "tokend_credential_up", "1 if the credential is loaded and usable, 0 if it is failing.");
    for (const auto& [credential, usable] : state.credential_up) {
      AddGauge(up, usable ? 1 : 0, "credential", credential);
    }
    families.push_back(std::move(up));
    prometheus::MetricFamily certificates =
        Gauges("tokend_certificate_expiry_timestamp_seconds",
               "When the certificate of a certificate credential expires (notAfter, Unix time).");
    for (const auto& [credential, when] : state.certificate_expiry_timestamp) {
      AddGauge(certificates, when, "credential", credential);
    }
    families.push_back(std::move(certificates));
    prometheus::MetricFamily keys =
        Gauges("tokend_keys_held", "Signing keys held for token validation.");
    AddGauge(keys, static_cast<double>(state.keys_held));
    families.push_back(std::move(keys));
    prometheus::MetricFamily sets =
        Gauges("tokend_key_sets", "Key sets (one per jwks_uri) held for token validation.");
    AddGauge(sets, static_cast<double>(state.key_sets));
    families.push_back(std::move(sets));
    prometheus::MetricFamily age =
        Gauges("tokend_key_set_age_seconds", "Seconds since the oldest key set was last fetched.");
    AddGauge(age, state.key_set_age_seconds);
    families.push_back(std::move(age));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace tokend
