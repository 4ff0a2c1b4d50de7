#include "tests/devidp/command_line.h"

#include <algorithm>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tokend {
namespace devidp {
namespace {

absl::Status ParseInt(const std::string& flag, const std::string& text, int min, int max,
                      int* out) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be an integer in [", min,
                                                   ", ", max, "], got \"", text, "\""));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      flags.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg = arg.substr(2);
    std::string name = arg;
    absl::optional<std::string> value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "log-requests") {
      flags.log_requests = !value.has_value() || *value == "true" || *value == "1";
      continue;
    }
    static const char* const kValueFlags[] = {"host",           "port",       "config",
                                              "token-lifetime", "refresh-in", "public-url",
                                              "port-file",      "threads"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), name) == std::end(kValueFlags)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!value.has_value()) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    int number = 0;
    absl::Status status;
    if (name == "host") {
      flags.host = *value;
    } else if (name == "port") {
      status = ParseInt(name, *value, 0, 65535, &flags.port);
    } else if (name == "config") {
      flags.config_path = *value;
    } else if (name == "token-lifetime") {
      status = ParseInt(name, *value, 1, 1 << 30, &number);
      flags.token_lifetime = number;
    } else if (name == "refresh-in") {
      status = ParseInt(name, *value, 1, 1 << 30, &number);
      flags.refresh_in = number;
    } else if (name == "public-url") {
      if (!absl::StartsWith(*value, "http://") && !absl::StartsWith(*value, "https://")) {
        status = absl::InvalidArgumentError("--public-url must start with http:// or https://");
      }
      flags.public_url = *value;
    } else if (name == "port-file") {
      flags.port_file = *value;
    } else if (name == "threads") {
      status = ParseInt(name, *value, 1, 256, &flags.threads);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!status.ok()) return status;
  }
  return flags;
}

std::string Usage() {
  return R"(Usage: tokend-devidp [flags]

A local development identity provider that speaks the Microsoft Entra ID endpoints tokend uses
(v1/v2 token, discovery, keys) and mints RS256 tokens. Admin API under /_devidp/ (README.md).
On start it prints one line to stdout: {"listening":"http://127.0.0.1:PORT"}.
SIGTERM or SIGINT stop it cleanly (exit 0).

Flags:
  --host HOST             loopback address to listen on (default 127.0.0.1; non-loopback refused)
  --port N                port (default 0: any free port)
  --port-file PATH        also write the chosen port number to PATH
  --config FILE           directory JSON (tenants, resources, apps); default: built-in directory
  --token-lifetime SECS   token lifetime, expires_in (default 3599 or the config's)
  --refresh-in SECS       add refresh_in to token responses
  --public-url URL        base URL advertised in discovery documents (default: listening URL)
  --threads N             worker threads (default 8)
  --log-requests          log one line per request to stderr (method, path, status)
  --help                  this text
)";
}

}  // namespace devidp
}  // namespace tokend
