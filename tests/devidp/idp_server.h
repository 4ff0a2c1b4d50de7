// tokend-devidp's HTTP server: the Entra ID endpoints tokend uses (v1/v2 token, discovery and
// keys) plus the /_devidp/ admin API, on a loopback address. Start() returns once the socket is
// bound and accepting; requests are served by a pool of worker threads (HTTP keep-alive on).
// All methods are thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_IDP_SERVER_H_
#define TOKEND_TESTS_DEVIDP_IDP_SERVER_H_

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/devidp/admin_api.h"
#include "tests/devidp/client_assertion_verifier.h"
#include "tests/devidp/directory.h"
#include "tests/devidp/fault_injector.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/jwt_minter.h"
#include "tests/devidp/request_counters.h"
#include "tests/devidp/signing_key_store.h"
#include "tests/devidp/token_issuer.h"

namespace tokend {
namespace devidp {

struct IdpServerOptions {
  std::string host = "127.0.0.1";     // Must be a loopback address or "localhost".
  int port = 0;                       // 0 = any free port.
  std::string public_url;             // Base URL in discovery documents; empty = listening URL.
  int threads = 8;                    // Worker threads.
  bool log_requests = false;          // One stderr line per request (method, path, status only).
  std::function<absl::Time()> clock;  // Time source for tokens and errors; null = absl::Now.
  std::shared_ptr<const RsaSigningKey> signing_key;  // First signing key; null = generate one.
};

// Returns OK iff `host` is "localhost", an IPv4 address in 127.0.0.0/8 or "::1".
absl::Status CheckLoopbackHost(const std::string& host);

class IdpServer {
 public:
  // Validates `config` (IdpConfig::Normalize), generates a signing key, binds and starts
  // serving. Returns InvalidArgument for a bad config or a non-loopback host, Unavailable if the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<IdpServer>> Start(IdpConfig config,
                                                          IdpServerOptions options);

  IdpServer(const IdpServer&) = delete;
  IdpServer& operator=(const IdpServer&) = delete;
  ~IdpServer();  // Calls Stop().

  int port() const { return port_; }
  // The address actually listened on, e.g. "http://127.0.0.1:41234".
  const std::string& listening_url() const { return listening_url_; }
  // The base URL of the endpoints in discovery documents (public_url or listening_url).
  const std::string& base_url() const { return base_url_; }

  // Returns true until Stop() is called or the listener fails.
  bool running() const { return http_.is_running(); }

  // Stops accepting, finishes in-flight requests and joins the threads. Idempotent.
  void Stop();

  // The live state, for in-process tests; the admin API changes the same objects.
  Directory& directory() { return *directory_; }
  FaultInjector& faults() { return faults_; }
  SigningKeyStore& keys() { return *keys_; }
  RequestCounters& counters() { return counters_; }

 private:
  IdpServer(const IdpConfig& config, IdpServerOptions options,
            std::unique_ptr<SigningKeyStore> keys);

  void RegisterRoutes();
  void HandleToken(TokenEndpoint endpoint, const httplib::Request& req, httplib::Response& res);
  void HandleDiscovery(KeysVersion version, const httplib::Request& req, httplib::Response& res);
  void HandleKeys(KeysVersion version, const httplib::Request& req, httplib::Response& res);

  // Applies the queued faults for one request to `endpoint`: sleeps for any latency, then
  // answers (or drops) the request if a fault says so. Returns true iff the request was handled.
  bool ApplyFaults(FaultEndpoint endpoint, const httplib::Request& req, httplib::Response& res);

  // Answers with Entra's invalid_tenant error (AADSTS90002) for `tenant`.
  void ReplyUnknownTenant(const std::string& tenant, httplib::Response& res) const;

  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }

  // Constant after construction.
  const IdpServerOptions options_;
  const std::unique_ptr<Directory> directory_;
  const std::unique_ptr<SigningKeyStore> keys_;
  const JwtMinter minter_;
  const ClientAssertionVerifier verifier_;
  const TokenIssuer issuer_;
  int port_ = 0;
  std::string listening_url_;
  std::string base_url_;

  FaultInjector faults_;
  RequestCounters counters_;
  AdminApi admin_;
  httplib::Server http_;
  std::thread listener_;  // Runs http_.listen_after_bind(); joined by Stop().

  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_IDP_SERVER_H_
