// tokend's configuration: the flags of SPEC.md, each also read from its TOKEND_* variable, parsed
// and validated into a Config before anything starts. A Config that exists is valid.
#ifndef TOKEND_SERVICE_CONFIG_CONFIG_H_
#define TOKEND_SERVICE_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/flag_parser.h"
#include "service/common/logging.h"
#include "service/config/listen_address.h"
#include "service/core/cloud.h"

namespace tokend {

struct TlsFiles {
  std::string cert_file;       // PEM server certificate chain.
  std::string key_file;        // PEM private key.
  std::string client_ca_file;  // PEM CA bundle; when set, clients must present a certificate.
  // --tls-refresh-interval: how often the files are read again (rotation); at least 1s.
  absl::Duration refresh_interval = absl::Minutes(1);
  // --tls-allowed-clients: "uri:VALUE" / "dns:VALUE" patterns; empty: every client the CA
  // signed. Non-empty only with a client CA.
  std::vector<std::string> allowed_clients;
  bool enabled() const { return !cert_file.empty(); }
};

struct Config {
  std::vector<ListenAddress> listen;         // --listen: at least one.
  int socket_mode = 0660;                    // --socket-mode: 0600 or 0660.
  std::string metrics_listen;                // --metrics-listen host:port; empty: no metrics port.
  std::string secrets_dir;                   // --secrets-dir: an existing folder.
  Cloud cloud = Cloud::kPublic;              // --cloud.
  std::string authority_host;                // --authority-host, else --cloud's; normalised.
  std::string region;                        // --region; empty: the global token endpoints.
  std::vector<std::string> audiences;        // --audiences.
  std::vector<std::string> allowed_tenants;  // --allowed-tenants; empty: credentials' own.
  bool any_tenant = false;                   // --allowed-tenants '*'.
  absl::Duration clock_skew = absl::Minutes(5);       // --clock-skew.
  absl::Duration shutdown_grace = absl::Seconds(10);  // --shutdown-grace.
  int token_requests_per_minute = 12;                 // --token-requests-per-minute, per key.
  LogLevel log_level = LogLevel::kInfo;               // --log-level.
  TlsFiles tls;  // --tls-cert-file, --tls-key-file, --tls-client-ca-file, --tls-refresh-interval,
                 // --tls-allowed-clients.
  std::string policy_file;  // --policy: a readable file; empty: no caller policy.
};

// What the command line asks for.
struct ParsedCommandLine {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  Config config;  // Valid iff action == kRun.
};

// Parses tokend's arguments (without the program name) and environment. INVALID_ARGUMENT with a
// message that names the flag (or variable) and the value for every bad input: unknown flag,
// bad duration, bad address, non-loopback TCP without TLS, missing secrets dir, both --cloud
// and --authority-host, a --region with an authority that is not a cloud's, a bad
// --tls-allowed-clients pattern or one without --tls-client-ca-file, an unreadable --policy, ...
// The content of the TLS and policy files is checked when the server starts.
absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                                   const EnvLookup& env);

// The text of --help.
std::string Usage();

}  // namespace tokend

#endif  // TOKEND_SERVICE_CONFIG_CONFIG_H_
