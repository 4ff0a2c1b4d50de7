// tokend: flags -> Config -> RunServer. Wiring only.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "service/common/logging.h"
#include "service/common/process_hardening.h"
#include "service/config/config.h"
#include "service/server/server_runner.h"

#ifndef TOKEND_VERSION
#define TOKEND_VERSION "dev"
#endif

int main(int argc, char** argv) {
  // Debian's abseil is built with mutex deadlock detection on; it costs every lock (gRPC's
  // included) and finds nothing the thread-safety build and the tests do not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<tokend::ParsedCommandLine> parsed =
      tokend::ParseCommandLine(args, [](const char* name) { return std::getenv(name); });
  if (!parsed.ok()) {
    std::cerr << "tokend: " << parsed.status().message() << "\n";
    return 2;
  }
  switch (parsed->action) {
    case tokend::ParsedCommandLine::Action::kHelp:
      std::cout << tokend::Usage();
      return 0;
    case tokend::ParsedCommandLine::Action::kVersion:
      std::cout << "tokend " << TOKEND_VERSION << "\n";
      return 0;
    case tokend::ParsedCommandLine::Action::kRun:
      break;
  }
  tokend::SetLogLevel(parsed->config.log_level);
  // Before any secret is read: no core dump, no ptrace or /proc/PID/mem for other processes.
  if (absl::Status hardened = tokend::HardenProcess(); !hardened.ok()) {
    tokend::LogError("cannot harden the process", {{"error", std::string(hardened.message())}});
    return 1;
  }
  tokend::LogInfo("starting", {{"version", TOKEND_VERSION}});
  return tokend::RunServer(parsed->config);
}
