// tokend-devidp: flags and wiring only. See README.md.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/command_line.h"
#include "tests/devidp/http_reply.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"

namespace {

using tokend::devidp::CommandLine;
using tokend::devidp::IdpConfig;
using tokend::devidp::IdpServer;
using tokend::devidp::IdpServerOptions;

// Writes `port` to `path` atomically (temporary file + rename). Returns false on error.
bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

int Fail(const std::string& message, int code) {
  std::cerr << "tokend-devidp: " << message << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<CommandLine> flags = tokend::devidp::ParseCommandLine(argc, argv);
  if (!flags.ok())
    return Fail(absl::StrCat(flags.status().message(), "\n", tokend::devidp::Usage()), 2);
  if (flags->help) {
    std::cout << tokend::devidp::Usage();
    return 0;
  }

  absl::StatusOr<IdpConfig> config =
      flags->config_path.empty() ? IdpConfig::Default() : IdpConfig::FromFile(flags->config_path);
  if (!config.ok()) return Fail(std::string(config.status().message()), 2);
  if (flags->token_lifetime) config->token_lifetime_seconds = *flags->token_lifetime;
  if (flags->refresh_in) config->refresh_in_seconds = *flags->refresh_in;

  // SIGINT/SIGTERM are blocked in every thread and taken synchronously by this one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  IdpServerOptions options;
  options.host = flags->host;
  options.port = flags->port;
  options.public_url = flags->public_url;
  options.threads = flags->threads;
  options.log_requests = flags->log_requests;
  absl::StatusOr<std::unique_ptr<IdpServer>> server =
      IdpServer::Start(*std::move(config), std::move(options));
  if (!server.ok()) return Fail(std::string(server.status().message()), 1);

  if (!flags->port_file.empty() && !WritePortFile(flags->port_file, (*server)->port())) {
    return Fail(absl::StrCat("cannot write --port-file ", flags->port_file), 1);
  }
  std::cout << tokend::devidp::DumpJson(nlohmann::json{{"listening", (*server)->listening_url()}})
            << std::endl;

  while (true) {
    const timespec poll = {1, 0};
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &poll);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    if (!(*server)->running()) return Fail("the HTTP listener stopped unexpectedly", 1);
  }
  (*server)->Stop();
  return 0;
}
