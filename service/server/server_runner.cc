#include "service/server/server_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/adapters/curl_http_client.h"
#include "service/adapters/file_secret_source.h"
#include "service/adapters/metered_http_client.h"
#include "service/adapters/secret_watcher.h"
#include "service/adapters/thread_pool_task_runner.h"
#include "service/common/logging.h"
#include "service/common/status_macros.h"
#include "service/core/caller_policy.h"
#include "service/server/tls_reloader.h"
#include "service/server/token_service_impl.h"

namespace tokend {
namespace {

constexpr char kServiceName[] = "tokend.v1.TokenService";
// Threads that make requests to the identity provider and run renewals. Requests block, so a
// few run at once; cache hits never use these threads.
constexpr int kWorkerThreads = 4;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The policy file, parsed. FAILED_PRECONDITION naming --policy and the file.
absl::StatusOr<std::shared_ptr<const CallerPolicy>> ReadPolicy(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("--policy ", path, ": cannot be read"));
  }
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(*text, path);
  if (!policy.ok()) {
    // CallerPolicy's messages name the file ("policy PATH: rule ...").
    const std::string message(policy.status().message());
    return absl::FailedPreconditionError(absl::StrContains(message, path)
                                             ? absl::StrCat("--policy: ", message)
                                             : absl::StrCat("--policy ", path, ": ", message));
  }
  return std::make_shared<const CallerPolicy>(*std::move(policy));
}

// Returns true iff a process accepts connections on the Unix socket at `path`.
bool SomeoneListens(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return connected;
}

}  // namespace

ServerRunner::ServerRunner(Config config, std::unique_ptr<SecretSource> secrets,
                           std::unique_ptr<HttpClient> http)
    : config_(std::move(config)),
      metrics_(std::make_unique<PrometheusMetrics>(TOKEND_VERSION)),
      secrets_(std::move(secrets)),
      http_(std::make_unique<MeteredHttpClient>(std::move(http), *metrics_)),
      fetcher_(*http_, clock_, config_.authority_host, absl::Seconds(10), config_.region) {
  runner_ = std::make_unique<ThreadPoolTaskRunner>(clock_, kWorkerThreads);
  TokenCacheOptions cache_options;
  cache_options.metrics = metrics_.get();
  cache_options.max_requests_per_minute = config_.token_requests_per_minute;
  cache_ = std::make_unique<TokenCache>(fetcher_, clock_, *runner_, std::move(cache_options));
  JwksCacheOptions jwks_options;
  jwks_options.metrics = metrics_.get();
  jwks_ = std::make_unique<JwksCache>(*http_, clock_, *runner_, config_.authority_host,
                                      std::move(jwks_options));
  TokenValidatorOptions validation;
  validation.audiences = config_.audiences;
  validation.clock_skew = config_.clock_skew;
  validation.tenant_allowed = [this](const std::string& tenant) {
    if (config_.any_tenant || credentials_.HasTenant(tenant)) return true;
    for (const std::string& allowed : config_.allowed_tenants) {
      if (absl::EqualsIgnoreCase(allowed, tenant)) return true;
    }
    return false;
  };
  // The options were validated with the config (clock skew within bounds), so this holds.
  validator_ = *TokenValidator::Create(*jwks_, clock_, std::move(validation));
  TokenServiceOptions options;
  options.authority_host = config_.authority_host;
  options.allowed_tenants = config_.allowed_tenants;
  options.any_tenant = config_.any_tenant;
  options.metrics = metrics_.get();
  options.allowed_clients = config_.tls.allowed_clients;
  service_ =
      std::make_unique<TokenServiceImpl>(credentials_, *cache_, *validator_, std::move(options));
}

ServerRunner::~ServerRunner() {
  Shutdown();
  if (server_ != nullptr) server_->Wait();
  runner_.reset();  // No task may run once the cache is gone.
  for (const std::string& path : socket_paths_) unlink(path.c_str());
  for (int fd : lock_fds_) close(fd);  // The lock files stay; their locks are released.
}

absl::Status ServerRunner::PrepareUnixSocket(const std::string& path) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the socket folder ", parent.string(), ": ", ec.message()));
  }
  // The lock makes "is another tokend using this path?" race-free between two tokends.
  std::string lock_path = path + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", lock_path, ": ", std::strerror(errno)));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "another tokend is already serving on unix:", path, " (", lock_path, " is locked)"));
  }
  lock_fds_.push_back(lock_fd);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists and is not a socket; refusing to replace it"));
    }
    if (SomeoneListens(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("another process is already serving on unix:", path));
    }
    if (unlink(path.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove the stale socket ", path, ": ", std::strerror(errno)));
    }
    LogInfo("removed a stale socket left by an earlier run", {{"path", path}});
  }
  return absl::OkStatus();
}

absl::Status ServerRunner::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  TOKEND_RETURN_IF_ERROR(LoadPolicy(/*at_start=*/true));
  std::shared_ptr<grpc::ServerCredentials> tcp_credentials = grpc::InsecureServerCredentials();
  if (config_.tls.enabled()) {
    TOKEND_ASSIGN_OR_RETURN(tls_, TlsReloader::Start(config_.tls, *metrics_));
    tcp_credentials = tls_->credentials();
  }
  grpc::ServerBuilder builder;
  std::vector<std::unique_ptr<int>> ports;
  for (const ListenAddress& address : config_.listen) {
    ports.push_back(std::make_unique<int>(0));
    if (address.kind == ListenAddress::Kind::kUnix) {
      TOKEND_RETURN_IF_ERROR(PrepareUnixSocket(address.path));
      builder.AddListeningPort(address.GrpcAddress(), grpc::InsecureServerCredentials(),
                               ports.back().get());
    } else {
      builder.AddListeningPort(address.GrpcAddress(), tcp_credentials, ports.back().get());
    }
  }
  builder.RegisterService(service_.get());

  // Sockets are created by BuildAndStart with the process umask; make it give --socket-mode.
  mode_t old_umask = umask(static_cast<mode_t>(~config_.socket_mode & 0777));
  server_ = builder.BuildAndStart();
  umask(old_umask);
  if (server_ == nullptr) {
    return absl::FailedPreconditionError(
        "could not start the gRPC server: an address is in use or cannot be bound (see the "
        "gRPC error above)");
  }
  for (size_t i = 0; i < config_.listen.size(); ++i) {
    const ListenAddress& address = config_.listen[i];
    if (*ports[i] == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("could not listen on ", address.GrpcAddress()));
    }
    if (address.kind == ListenAddress::Kind::kUnix) {
      chmod(address.path.c_str(), static_cast<mode_t>(config_.socket_mode));
      socket_paths_.push_back(address.path);
      bound_.push_back(address.GrpcAddress());
    } else {
      bound_.push_back(absl::StrCat(address.host, ":", *ports[i]));
    }
    const bool tls = address.kind == ListenAddress::Kind::kTcp && config_.tls.enabled();
    LogInfo("listening", {{"address", bound_.back()},
                          {"tls", tls},
                          {"mtls", tls && !config_.tls.client_ca_file.empty()}});
  }
  UpdateServing();
  metrics_->SetScrapeSource([this](ScrapeState* state) { FillScrapeState(state); });
  if (!config_.metrics_listen.empty()) {
    MetricsHandlers handlers;
    handlers.metrics = [this] { return metrics_->Scrape(); };
    handlers.ready = [this](std::string* reason) { return Ready(reason); };
    TOKEND_ASSIGN_OR_RETURN(metrics_server_,
                            MetricsHttpServer::Start(config_.metrics_listen, std::move(handlers)));
    LogInfo("serving metrics",
            {{"address", metrics_server_->address()}, {"paths", "/metrics /healthz /readyz"}});
  }
  // Watch first, then load: a change made in between is then seen by both or by the watcher.
  absl::StatusOr<std::unique_ptr<SecretWatcher>> watcher = SecretWatcher::Start(
      config_.secrets_dir, SecretWatcherOptions(), [this] { ReloadCredentials(); });
  if (!watcher.ok()) return watcher.status();
  watcher_ = *std::move(watcher);
  return LoadCredentials();
}

void ServerRunner::Reload() {
  if (shutting_down_) return;
  ReloadCredentials();
  LoadPolicy(/*at_start=*/false).IgnoreError();        // Logged and counted.
  if (tls_ != nullptr) tls_->Refresh().IgnoreError();  // Likewise.
}

void ServerRunner::ReloadCredentials() {
  if (shutting_down_) return;
  absl::Status reloaded = LoadCredentials();
  if (!reloaded.ok()) {
    LogError("cannot read the secrets dir; keeping the credentials in use",
             {{"error", std::string(reloaded.message())}});
  }
}

absl::Status ServerRunner::LoadPolicy(bool at_start) {
  if (config_.policy_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const CallerPolicy>> policy = ReadPolicy(config_.policy_file);
  if (!policy.ok()) {
    if (!at_start) {
      metrics_->PolicyReload(false);
      LogError("policy rejected; keeping the last good policy",
               {{"file", config_.policy_file}, {"error", std::string(policy.status().message())}});
    }
    return policy.status();
  }
  const int64_t rules = static_cast<int64_t>((*policy)->rule_count());
  service_->SetPolicy(*std::move(policy));
  if (!at_start) metrics_->PolicyReload(true);
  LogInfo("policy loaded", {{"file", config_.policy_file}, {"rules", rules}});
  return absl::OkStatus();
}

absl::Status ServerRunner::LoadCredentials() {
  absl::MutexLock lock(&load_mu_);
  absl::StatusOr<CredentialSnapshot> snapshot = secrets_->Load();
  if (!snapshot.ok()) return snapshot.status();  // The callers log it, each in its words.
  std::vector<std::string> changed = credentials_.Apply(*snapshot);
  for (const std::string& name : changed) {
    absl::StatusOr<std::shared_ptr<const Credential>> credential = credentials_.Find(name);
    if (credential.ok()) {
      LogInfo("credential loaded", {{"credential", name}, {"version", (*credential)->version}});
      for (const std::string& warning : (*credential)->warnings) {
        LogWarning("credential file permissions", {{"credential", name}, {"warning", warning}});
      }
      metrics_->SecretReload(name, true);
      metrics_->SecretLoaded(name, clock_.TimeNow());
      cache_->OnCredentialChanged(*credential);
    } else if (snapshot->failures.count(name) == 0) {
      LogInfo("credential removed", {{"credential", name}});
    }
  }
  // Report each problem once, when it appears or changes; and when it is gone.
  std::map<std::string, std::string> now;
  for (const CredentialState& state : credentials_.States()) {
    if (state.last_error.ok()) continue;
    std::string error(state.last_error.message());
    now[state.name] = error;
    if (reported_[state.name] == error) continue;
    metrics_->SecretReload(state.name, false);
    if (state.usable) {
      LogError("credential update rejected; keeping the last good version",
               {{"credential", state.name}, {"version", state.version}, {"error", error}});
    } else {
      LogError("credential unusable", {{"credential", state.name}, {"error", error}});
    }
  }
  reported_ = std::move(now);
  loaded_ = true;
  UpdateServing();
  if (!credentials_.AnyUsable()) {
    LogWarning("no usable credential; health is NOT_SERVING",
               {{"secrets_dir", config_.secrets_dir}});
  }
  return absl::OkStatus();
}

bool ServerRunner::Ready(std::string* reason) const {
  if (shutting_down_.load()) {
    *reason = "shutting down";
    return false;
  }
  if (!loaded_.load()) {
    *reason = "the credentials have not been read yet";
    return false;
  }
  std::vector<CredentialState> states = credentials_.States();
  if (states.empty()) {
    *reason = absl::StrCat("no credential in ", config_.secrets_dir);
    return false;
  }
  for (const CredentialState& state : states) {
    if (!state.usable) {
      *reason =
          absl::StrCat("credential ", state.name, " is failing: ", state.last_error.message());
      return false;
    }
  }
  return true;
}

void ServerRunner::UpdateServing() {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  std::string reason;
  const bool serving = Ready(&reason);
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
  if (serving_.exchange(serving) != serving) {
    if (serving) {
      LogInfo("ready");
    } else {
      LogWarning("not ready", {{"reason", reason}});
    }
  }
}

void ServerRunner::FillScrapeState(ScrapeState* state) {
  const absl::Time now = clock_.TimeNow();
  state->token_cache_entries = static_cast<int64_t>(cache_->size());
  for (const auto& [credential, expiry] : cache_->SoonestExpiryByCredential()) {
    state->token_seconds_until_expiry[credential] = absl::ToDoubleSeconds(expiry - now);
  }
  for (const CredentialState& credential : credentials_.States()) {
    state->credential_up[credential.name] = credential.usable;
    if (credential.certificate_expires_at.has_value()) {
      state->certificate_expiry_timestamp[credential.name] =
          absl::ToDoubleSeconds(*credential.certificate_expires_at - absl::UnixEpoch());
    }
  }
  const JwksCacheStats keys = jwks_->Stats();
  state->keys_held = static_cast<int64_t>(keys.keys);
  state->key_sets = static_cast<int64_t>(keys.key_sets);
  state->key_set_age_seconds = absl::ToDoubleSeconds(keys.oldest_key_set_age);
}

std::string ServerRunner::MetricsAddress() const {
  return metrics_server_ != nullptr ? metrics_server_->address() : "";
}

void ServerRunner::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  shutting_down_ = true;
  watcher_.reset();  // No reload may turn health back to SERVING.
  if (server_ == nullptr) return;
  UpdateServing();  // NOT_SERVING: shutting_down_ is set.
  LogInfo("draining", {{"grace_ms", absl::ToInt64Milliseconds(config_.shutdown_grace)}});
  service_->EndWatches();
  // Calls waiting for a token get until the grace period ends; then they are answered.
  absl::Notification drained;
  std::thread canceller([this, &drained] {
    if (!drained.WaitForNotificationWithTimeout(config_.shutdown_grace)) {
      cache_->FailAllWaiters(absl::UnavailableError("tokend is shutting down"));
    }
  });
  server_->Shutdown(absl::ToChronoTime(absl::Now() + config_.shutdown_grace));
  drained.Notify();
  canceller.join();
}

void ServerRunner::Wait() {
  if (server_ != nullptr) server_->Wait();
}

std::vector<std::string> ServerRunner::BoundAddresses() const { return bound_; }

int RunServer(const Config& config) {
  // Block the shutdown signals in every thread (gRPC's included, which inherit this mask), and
  // take them synchronously in a thread of our own.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CurlHttpClientOptions http_options;
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> http = CurlHttpClient::Create(http_options);
  if (!http.ok()) {
    LogError("cannot set up HTTPS", {{"error", std::string(http.status().message())}});
    return 1;
  }
  ServerRunner runner(config, std::make_unique<FileSecretSource>(config.secrets_dir),
                      *std::move(http));
  absl::Status started = runner.Start();
  if (!started.ok()) {
    LogError("tokend could not start", {{"error", std::string(started.message())}});
    return 1;
  }
  std::thread signal_thread([&runner, signals] {
    for (;;) {
      int signal_number = 0;
      sigwait(&signals, &signal_number);
      if (signal_number == SIGHUP) {
        LogInfo("reloading", {{"signal", std::string(strsignal(signal_number))}});
        runner.Reload();
        continue;
      }
      LogInfo("shutting down", {{"signal", std::string(strsignal(signal_number))}});
      runner.Shutdown();
      return;
    }
  });
  runner.Wait();
  signal_thread.join();
  LogInfo("stopped");
  return 0;
}

}  // namespace tokend
