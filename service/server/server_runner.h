// ServerRunner owns tokend's gRPC server and what serves it: it prepares the listeners (Unix
// sockets with their mode, a lock against a second tokend on the same path, TLS for TCP with
// its files reloaded as they rotate), wires the token cache to the identity provider, registers
// the token service, gRPC health and reflection, loads the credentials and the caller policy,
// and drains on shutdown.
// Start() and Shutdown() may be called from different threads; each at most once.
#ifndef TOKEND_SERVICE_SERVER_SERVER_RUNNER_H_
#define TOKEND_SERVICE_SERVER_SERVER_RUNNER_H_

#include <grpcpp/server.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "service/adapters/metrics_http_server.h"
#include "service/adapters/prometheus_metrics.h"
#include "service/adapters/real_clock.h"
#include "service/config/config.h"
#include "service/core/credential_store.h"
#include "service/core/http_client.h"
#include "service/core/jwks_cache.h"
#include "service/core/secret_source.h"
#include "service/core/task_runner.h"
#include "service/core/token_cache.h"
#include "service/core/token_fetcher.h"
#include "service/core/token_validator.h"

namespace tokend {

class SecretWatcher;
class TlsReloader;
class TokenServiceImpl;

class ServerRunner {
 public:
  // `config` is copied. `secrets` supplies the credentials, `http` reaches the identity
  // provider; both owned.
  ServerRunner(Config config, std::unique_ptr<SecretSource> secrets,
               std::unique_ptr<HttpClient> http);
  ~ServerRunner();
  ServerRunner(const ServerRunner&) = delete;
  ServerRunner& operator=(const ServerRunner&) = delete;

  // Reads the TLS files and the caller policy, binds every listener and starts serving, health
  // NOT_SERVING until the credentials have loaded, then SERVING iff at least one credential is
  // usable. Returns FAILED_PRECONDITION saying which address could not be used (e.g. another
  // tokend serves that socket), or naming the flag and file of bad TLS files or a bad policy.
  absl::Status Start();

  // Health NOT_SERVING, end WatchToken streams, stop accepting calls, let calls in flight
  // finish for up to --shutdown-grace, then answer the rest UNAVAILABLE. Safe to call before
  // Start() or twice.
  void Shutdown();

  // SIGHUP: reads the secrets dir, the caller policy (--policy) and the TLS files again now. A
  // dir that cannot be read, a bad policy or bad TLS files are logged (and counted) and what is
  // in use is kept. No-op while shutting down.
  void Reload();

  // Blocks until the server has shut down.
  void Wait();

  // The addresses actually bound, in gRPC syntax (a TCP port 0 replaced by the port chosen).
  std::vector<std::string> BoundAddresses() const;
  // HOST:PORT of /metrics, /healthz and /readyz; empty without --metrics-listen.
  std::string MetricsAddress() const;

  const CredentialStore& credentials() const { return credentials_; }

 private:
  absl::Status PrepareUnixSocket(const std::string& path);
  // Reads the secrets dir again (the watcher calls it on every change; Reload() on SIGHUP).
  void ReloadCredentials();
  // Reads and parses --policy and hands it to the token service. The file's error otherwise
  // (the policy in use stays); at_start: neither logged nor counted as a reload.
  absl::Status LoadPolicy(bool at_start);
  // Reads the credentials, applies them, tells the cache which ones rotated, and logs what
  // changed. Returns the secrets dir's error if it cannot be read at all.
  absl::Status LoadCredentials();
  // Sets gRPC health to SERVING iff Ready().
  void UpdateServing();
  // Ready: credentials loaded, at least one, none unusable, not shutting down. Else false and
  // why in `reason`. The gRPC health status and /readyz both follow it.
  bool Ready(std::string* reason) const;
  void FillScrapeState(ScrapeState* state);

  // Constant after construction. Members are destroyed in reverse order: the task runner's
  // threads stop before the cache they serve goes away.
  const Config config_;
  const std::unique_ptr<PrometheusMetrics> metrics_;  // Before http_, which counts into it.
  const std::unique_ptr<SecretSource> secrets_;
  const std::unique_ptr<HttpClient> http_;
  RealClock clock_;
  CredentialStore credentials_;
  TokenFetcher fetcher_;
  std::unique_ptr<TokenCache> cache_;  // Uses runner_; created after it.
  std::unique_ptr<JwksCache> jwks_;    // Uses runner_; created after it.
  std::unique_ptr<TokenValidator> validator_;
  std::unique_ptr<TaskRunner> runner_;  // Declared after cache_ so it is destroyed first.
  std::unique_ptr<TokenServiceImpl> service_;
  std::unique_ptr<TlsReloader> tls_;  // With TLS files; outlives server_, which uses its files.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<SecretWatcher> watcher_;  // Reloads credentials when their files change.
  std::unique_ptr<MetricsHttpServer> metrics_server_;  // With --metrics-listen.
  std::atomic<bool> loaded_{false};                    // The secrets dir was read once.
  std::atomic<bool> serving_{false};                   // Last health set; changes are logged.
  absl::Mutex load_mu_;                                // One load at a time.
  std::map<std::string, std::string> reported_ ABSL_GUARDED_BY(load_mu_);  // Logged errors.
  std::vector<int> lock_fds_;              // flock()ed "<socket>.lock" files, held while running.
  std::vector<std::string> socket_paths_;  // Removed on destruction.
  std::vector<std::string> bound_;

  std::atomic<bool> shutting_down_{false};
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

// Runs tokend until SIGTERM or SIGINT (SIGHUP reloads): blocks those signals, starts a ServerRunner
// over the secrets dir, waits, drains. Returns the process exit code (0 after a clean shutdown).
int RunServer(const Config& config);

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_SERVER_RUNNER_H_
