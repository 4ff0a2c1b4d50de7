// tokend-noop-server: tokend's gRPC setup (callback API, default ServerBuilder settings, gRPC
// health and reflection, the same listeners) with handlers that do nothing but answer. It is
// the upper limit for any tokend throughput figure; see tests/bench/README.md.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/common/flag_parser.h"
#include "service/common/logging.h"
#include "service/config/listen_address.h"
#include "tests/bench/noop_token_service.h"

namespace tokend::bench {
namespace {

constexpr char kServiceName[] = "tokend.v1.TokenService";
constexpr auto kShutdownGrace = std::chrono::seconds(2);

FlagParser MakeFlagParser() {
  return FlagParser({
      {"listen", "ADDRESSES",
       "Comma-separated addresses to serve on, as for tokend: unix:///PATH or HOST:PORT (port 0 "
       "picks a free port; the chosen one is logged).",
       "unix:///tmp/tokend-noop/tokend.sock", "", false},
  });
}

// Removes a socket file left by an earlier run; gRPC cannot bind over it.
void RemoveStaleSocket(const std::string& path) {
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
}

int Run(const std::vector<ListenAddress>& listen) {
  // Blocked here, before gRPC starts threads, so that only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  NoopTokenService service;
  grpc::ServerBuilder builder;
  std::vector<int> ports(listen.size(), 0);
  for (size_t i = 0; i < listen.size(); ++i) {
    if (listen[i].kind == ListenAddress::Kind::kUnix) RemoveStaleSocket(listen[i].path);
    builder.AddListeningPort(listen[i].GrpcAddress(), grpc::InsecureServerCredentials(), &ports[i]);
  }
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    LogError("could not start the gRPC server (see the gRPC error above)");
    return 1;
  }
  for (size_t i = 0; i < listen.size(); ++i) {
    if (ports[i] == 0) {
      LogError("could not listen", {{"address", listen[i].GrpcAddress()}});
      return 1;
    }
    const bool tcp = listen[i].kind == ListenAddress::Kind::kTcp;
    LogInfo("listening", {{"address", tcp ? absl::StrCat(listen[i].host, ":", ports[i])
                                          : listen[i].GrpcAddress()},
                          {"tls", false}});
  }
  LogInfo(
      "response sizes",
      {{"access_token_bytes",
        static_cast<int64_t>(service.get_token_response().access_token().size())},
       {"get_token_bytes", static_cast<int64_t>(service.get_token_response().ByteSizeLong())},
       {"validate_token_bytes",
        static_cast<int64_t>(service.validate_token_response().ByteSizeLong())},
       {"consent_url_bytes", static_cast<int64_t>(service.consent_url_response().ByteSizeLong())}});
  server->GetHealthCheckService()->SetServingStatus(true);
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);

  std::thread signal_thread([&server, signals] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    LogInfo("shutting down", {{"signal", std::string(strsignal(signal_number))}});
    server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  });
  server->Wait();
  signal_thread.join();
  for (const ListenAddress& address : listen) {
    if (address.kind == ListenAddress::Kind::kUnix) unlink(address.path.c_str());
  }
  LogInfo("stopped");
  return 0;
}

int Main(int argc, char** argv) {
  const FlagParser parser = MakeFlagParser();
  absl::StatusOr<FlagValues> flags =
      parser.Parse(std::vector<std::string>(argv + 1, argv + argc), nullptr);
  if (!flags.ok()) {
    std::cerr << "tokend-noop-server: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help()) {
    std::cout << "Usage: tokend-noop-server [--listen ADDRESSES]\n\n" << parser.Usage();
    return 0;
  }
  std::vector<ListenAddress> listen;
  for (const std::string& item : SplitList(flags->Get("listen"))) {
    absl::StatusOr<ListenAddress> address = ParseListenAddress(item);
    if (!address.ok()) {
      std::cerr << "tokend-noop-server: --listen: " << address.status().message() << "\n";
      return 2;
    }
    listen.push_back(*std::move(address));
  }
  if (listen.empty()) {
    std::cerr << "tokend-noop-server: --listen: needs at least one address\n";
    return 2;
  }
  return Run(listen);
}

}  // namespace
}  // namespace tokend::bench

int main(int argc, char** argv) {
  // As tokend's main() does, so that the baseline's locks cost what tokend's cost.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return tokend::bench::Main(argc, argv);
}
