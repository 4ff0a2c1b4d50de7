// MeteredHttpClient wraps the HttpClient that reaches the identity provider and counts each
// exchange in PrometheusMetrics: endpoint (from the URL's path), outcome (from the HTTP
// status), the OAuth `error` of a 4xx reply, and latency. Thread-safe as the wrapped client.
#ifndef TOKEND_SERVICE_ADAPTERS_METERED_HTTP_CLIENT_H_
#define TOKEND_SERVICE_ADAPTERS_METERED_HTTP_CLIENT_H_

#include <memory>

#include "service/adapters/prometheus_metrics.h"
#include "service/core/http_client.h"

namespace tokend {

class MeteredHttpClient final : public HttpClient {
 public:
  // `metrics` must outlive this object.
  MeteredHttpClient(std::unique_ptr<HttpClient> inner, PrometheusMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  const std::unique_ptr<HttpClient> inner_;
  PrometheusMetrics& metrics_;
};

// The endpoint `url` names: the token endpoint (".../oauth2/...token"), a discovery document
// (".../.well-known/openid-configuration") or, otherwise, a key set.
IdpEndpoint EndpointOf(const std::string& url);

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_METERED_HTTP_CLIENT_H_
