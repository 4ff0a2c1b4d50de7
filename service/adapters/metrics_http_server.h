// MetricsHttpServer serves the metrics port over plain HTTP (CivetWeb, the server prometheus-cpp
// itself uses): GET /metrics (Prometheus text format), /healthz (live: 200 while the process
// serves) and /readyz (200 when ready, else 503 with the reason). Anything else: 404. The
// handlers run on the server's own threads and must be thread-safe.
#ifndef TOKEND_SERVICE_ADAPTERS_METRICS_HTTP_SERVER_H_
#define TOKEND_SERVICE_ADAPTERS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace tokend {

struct MetricsHandlers {
  std::function<std::string()> metrics;  // The exposition text.
  // Whether tokend is ready; when not, `reason` says why (no secret in it).
  std::function<bool(std::string* reason)> ready;
};

class MetricsHttpServer {
 public:
  // Listens on `address` (HOST:PORT; port 0 picks a free one). FAILED_PRECONDITION naming the
  // address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                                  MetricsHandlers handlers);
  ~MetricsHttpServer();  // Stops serving; waits for requests in progress.
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // HOST:PORT actually bound.
  const std::string& address() const { return address_; }

 private:
  explicit MetricsHttpServer(MetricsHandlers handlers) : handlers_(std::move(handlers)) {}
  static int Handle(mg_connection* connection, void* self);

  const MetricsHandlers handlers_;
  mg_context* context_ = nullptr;
  std::string address_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_METRICS_HTTP_SERVER_H_
