// PrometheusMetrics counts what the core and the server report (core/metrics.h) in
// prometheus-cpp families, and renders them with the gauges read at scrape time in the text
// exposition format. Every family is declared in prometheus_metrics.cc, in one place; the README
// lists them. Thread-safe. The per-call paths (TokenLookup, Rpc, Validation) take a shared lock
// and bump an atomic: series are created on first use and then found without allocation.
#ifndef TOKEND_SERVICE_ADAPTERS_PROMETHEUS_METRICS_H_
#define TOKEND_SERVICE_ADAPTERS_PROMETHEUS_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/metrics.h"

namespace tokend {

// What the gauges read at scrape time show; filled by the server from its caches.
struct ScrapeState {
  int64_t token_cache_entries = 0;
  std::map<std::string, double> token_seconds_until_expiry;    // Credential -> soonest expiry.
  std::map<std::string, bool> credential_up;                   // Credential -> usable.
  std::map<std::string, double> certificate_expiry_timestamp;  // Credential -> notAfter, Unix s.
  int64_t keys_held = 0;
  int64_t key_sets = 0;
  double key_set_age_seconds = 0;  // Of the oldest key set.
};

// The identity provider endpoints whose requests are counted.
enum class IdpEndpoint { kToken, kDiscovery, kKeys };

class PrometheusMetrics final : public Metrics {
 public:
  // `version` goes into tokend_build_info.
  explicit PrometheusMetrics(const std::string& version);
  ~PrometheusMetrics() override;

  // Metrics.
  void TokenLookup(const std::string& credential, bool hit) override;
  void TokenRequest(const std::string& credential, RenewalOutcome outcome) override;
  void KeyFetch(KeyDocument document, FetchOutcome outcome) override;
  void Validation(JwtFailure failure) override;
  void Rpc(const char* method, int code, absl::Duration elapsed) override;
  void SecretReload(const std::string& credential, bool ok) override;
  void PolicyDenial(const std::string& rule) override;
  void PolicyReload(bool ok) override;
  void TlsClientDenial() override;
  void TlsReload(bool ok) override;

  // One HTTP exchange with the identity provider. `status` is the HTTP status, 0 when no
  // response arrived; `oauth_error` the `error` field of a 4xx reply other than 429 ("" if none).
  void IdpRequest(IdpEndpoint endpoint, int status, const std::string& oauth_error,
                  absl::Duration elapsed);

  // When the credential's current content was loaded.
  void SecretLoaded(const std::string& credential, absl::Time when);

  // Called at each scrape to fill the gauges that are read rather than counted.
  void SetScrapeSource(std::function<void(ScrapeState*)> source);

  // Everything, in the Prometheus text exposition format (version 0.0.4).
  std::string Scrape();

 private:
  // Series of one family, one per label value, created on first use.
  struct Series {
    prometheus::Family<prometheus::Counter>* family = nullptr;
    prometheus::Labels fixed;  // Labels every series of this group carries.
    std::string key_label;     // The label whose value selects the series.
    absl::Mutex mu;
    absl::flat_hash_map<std::string, prometheus::Counter*> by_value ABSL_GUARDED_BY(mu);
  };
  static prometheus::Counter& Get(Series& series, const std::string& value);
  std::unique_ptr<Series> NewSeries(prometheus::Family<prometheus::Counter>& family,
                                    prometheus::Labels fixed, std::string key_label);

  std::shared_ptr<prometheus::Registry> registry_;
  // Families (owned by registry_).
  prometheus::Family<prometheus::Counter>& rpc_total_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  prometheus::Family<prometheus::Counter>& lookups_;
  prometheus::Family<prometheus::Counter>& renewals_;
  prometheus::Family<prometheus::Counter>& idp_total_;
  prometheus::Family<prometheus::Histogram>& idp_seconds_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& loaded_at_;
  prometheus::Family<prometheus::Counter>& validations_;
  prometheus::Family<prometheus::Counter>& key_fetches_;
  prometheus::Family<prometheus::Counter>& policy_denials_;
  prometheus::Family<prometheus::Counter>& policy_reloads_;
  prometheus::Family<prometheus::Counter>& tls_client_denials_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;

  std::unique_ptr<Series> hits_, misses_;
  std::array<std::unique_ptr<Series>, 3> renewals_by_outcome_;
  std::array<std::unique_ptr<Series>, 2> reloads_by_result_;
  std::unique_ptr<Series> policy_denials_by_rule_;
  // [0] failure, [1] success; created with the families, so never null.
  std::array<prometheus::Counter*, 2> policy_reload_counters_{};
  std::array<prometheus::Counter*, 2> tls_reload_counters_{};
  prometheus::Counter* tls_client_denial_counter_ = nullptr;
  absl::Mutex mu_;  // Creates the series below; reads are atomic.
  static constexpr int kMethods = 4;
  static constexpr int kCodes = 17;
  std::array<std::array<std::atomic<prometheus::Counter*>, kCodes>, kMethods> rpc_counters_{};
  std::array<prometheus::Histogram*, kMethods> rpc_histograms_{};
  std::array<std::atomic<prometheus::Counter*>, 12> validation_counters_{};
  std::map<std::string, prometheus::Gauge*> loaded_gauges_ ABSL_GUARDED_BY(mu_);
  std::array<prometheus::Histogram*, 3> idp_histograms_{};

  absl::Mutex scrape_mu_;
  std::function<void(ScrapeState*)> scrape_source_ ABSL_GUARDED_BY(scrape_mu_);
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_PROMETHEUS_METRICS_H_
