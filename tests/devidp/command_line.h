// Command-line flags of tokend-devidp. Flags use dashes (--port-file), take "--flag=value" or
// "--flag value", and are parsed here so that main.cc stays wiring only.
#ifndef TOKEND_TESTS_DEVIDP_COMMAND_LINE_H_
#define TOKEND_TESTS_DEVIDP_COMMAND_LINE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"

namespace tokend {
namespace devidp {

struct CommandLine {
  std::string host = "127.0.0.1";      // --host (loopback only)
  int port = 0;                        // --port (0 = any free port)
  std::string config_path;             // --config (empty = built-in defaults)
  absl::optional<int> token_lifetime;  // --token-lifetime seconds (overrides the config)
  absl::optional<int> refresh_in;      // --refresh-in seconds (overrides the config)
  std::string public_url;              // --public-url
  std::string port_file;               // --port-file
  int threads = 8;                     // --threads
  bool log_requests = false;           // --log-requests
  bool help = false;                   // --help / -h
};

// Parses argv[1..argc). Returns InvalidArgument naming the flag on an unknown flag, a missing
// value or a value out of range.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv);

// Returns the --help text.
std::string Usage();

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_COMMAND_LINE_H_
