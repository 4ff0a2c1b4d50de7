// CurlHttpClient: the HttpClient port over libcurl, for talking to the identity provider over
// HTTPS. Send() follows the contract in service/core/http_client.h. Thread-safe: Send() may be
// called concurrently from any number of threads.
//
// Connections: each Send() borrows a CURL easy handle from a pool and returns it afterwards, so
// keep-alive connections are reused across calls and threads. A share handle holds the DNS
// cache and the TLS session cache for all handles.
//
// Security: the peer certificate and host name are always verified (system CAs, or `ca_file`);
// TLS 1.2 or newer; only http and https; redirects are never followed (a 3xx comes back as a
// response). The request body is passed to libcurl without a copy and never appears in an error
// message; neither does the URL's path or query: messages name the host only.
//
// Proxies: libcurl's environment variables apply, as for the curl tool: `https_proxy` or
// `HTTPS_PROXY` for https URLs, `http_proxy` (lower case only) for http URLs, `ALL_PROXY`, and
// `NO_PROXY` (comma-separated hosts or domains that bypass the proxy).
#ifndef TOKEND_SERVICE_ADAPTERS_CURL_HTTP_CLIENT_H_
#define TOKEND_SERVICE_ADAPTERS_CURL_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/http_client.h"

namespace tokend {

struct CurlHttpClientOptions {
  // Longest time to set up a connection (TCP and TLS). A request's own timeout still bounds it.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Responses whose body (or header block) is longer fail with RESOURCE_EXHAUSTED.
  size_t max_response_bytes = 1 << 20;
  // PEM bundle of trusted CA certificates. Empty: the system's CAs.
  std::string ca_file;
  // Sent as User-Agent. Empty: "tokend/<version>".
  std::string user_agent;
  // Idle handles (each keeping its keep-alive connection to a host) kept in the pool. More
  // concurrent requests still run, on extra handles that are closed when they finish.
  int max_connections_per_host = 8;
};

class CurlHttpClient final : public HttpClient {
 public:
  // Returns a client, or INVALID_ARGUMENT for bad options (an unreadable `ca_file` included),
  // or FAILED_PRECONDITION when libcurl cannot be initialised or lacks TLS support.
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(
      const CurlHttpClientOptions& options);

  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // See HttpClient::Send. Also INVALID_ARGUMENT for a method other than GET or POST, a URL
  // that is not absolute http(s), a GET with a body, or a header containing CR or LF.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

  // Connections opened so far, over all requests (the sum of CURLINFO_NUM_CONNECTS).
  int64_t connections_opened() const { return connections_opened_.load(); }

 private:
  struct EasyDeleter {
    void operator()(CURL* easy) const;
  };
  struct ShareDeleter {
    void operator()(CURLSH* share) const;
  };
  using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
  using SharePtr = std::unique_ptr<CURLSH, ShareDeleter>;

  // One mutex per curl_lock_data value; handed to libcurl's share lock callbacks.
  struct ShareLocks;

  CurlHttpClient(const CurlHttpClientOptions& options, std::unique_ptr<ShareLocks> locks,
                 SharePtr share);

  // A handle from the pool, or a new one attached to the share; null if libcurl fails.
  EasyPtr TakeHandle();
  // Returns `easy` to the pool, or closes it when the pool is full.
  void ReturnHandle(EasyPtr easy);

  // Constant after construction.
  const CurlHttpClientOptions options_;
  const std::string user_agent_;
  const std::unique_ptr<ShareLocks> locks_;  // Outlives share_.
  const SharePtr share_;                     // Outlives every handle.

  std::atomic<int64_t> connections_opened_{0};

  absl::Mutex mu_;
  std::vector<EasyPtr> idle_ ABSL_GUARDED_BY(mu_);  // Free list, most recently used last.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_CURL_HTTP_CLIENT_H_
