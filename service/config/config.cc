#include "service/config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/core/caller_policy.h"
#include "service/core/identifiers.h"

namespace tokend {
namespace {

const FlagParser& Parser() {
  static const FlagParser* parser = new FlagParser({
      {"listen", "ADDRESSES",
       "Comma-separated gRPC addresses: unix:///PATH and/or HOST:PORT. A TCP address that is "
       "not loopback needs --tls-cert-file and --tls-key-file.",
       "unix:///run/tokend/tokend.sock", "TOKEND_LISTEN"},
      {"socket-mode", "MODE", "Permissions of Unix sockets: 0600 (owner) or 0660 (and group).",
       "0660", "TOKEND_SOCKET_MODE"},
      {"metrics-listen", "HOST:PORT", "Where to serve Prometheus /metrics; empty: nowhere.", "",
       "TOKEND_METRICS_LISTEN"},
      {"secrets-dir", "DIR",
       "Folder with one subfolder per credential (tenant-id, client-id, client-secret or "
       "client-certificate, optional authority-host), as a Kubernetes Secret mounts them.",
       "/var/run/secrets/tokend", "TOKEND_SECRETS_DIR"},
      {"cloud", "CLOUD",
       "The Entra ID cloud: public (https://login.microsoftonline.com), usgov "
       "(https://login.microsoftonline.us) or china (https://login.partner.microsoftonline.cn). "
       "Its authority host serves every credential without its own authority-host, and the "
       "consent links. Default: public.",
       "", "TOKEND_CLOUD"},
      {"authority-host", "URL",
       "The Entra ID authority, for every credential without its own, instead of --cloud's "
       "(e.g. a local identity provider; http only for loopback).",
       "", "TOKEND_AUTHORITY_HOST"},
      {"region", "REGION",
       "Azure region (e.g. westus2) whose regional token endpoint (ESTS-R) serves token "
       "requests, for applications Entra ID allows to use one. Empty: the global endpoint.",
       "", "TOKEND_REGION"},
      {"audiences", "LIST", "Comma-separated audiences that ValidateToken accepts.", "",
       "TOKEND_AUDIENCES"},
      {"allowed-tenants", "LIST",
       "Comma-separated tenant ids that GetToken may target and ValidateToken accepts, or * for "
       "any. Empty: the credentials' own tenants.",
       "", "TOKEND_ALLOWED_TENANTS"},
      {"clock-skew", "DURATION", "Leeway for token lifetimes, up to 10m.", "5m",
       "TOKEND_CLOCK_SKEW"},
      {"token-requests-per-minute", "N",
       "Most token requests tokend makes per key (credential, tenant, scopes) in any minute; "
       "force_refresh beyond it fails RESOURCE_EXHAUSTED.",
       "12", "TOKEND_TOKEN_REQUESTS_PER_MINUTE"},
      {"shutdown-grace", "DURATION",
       "On SIGTERM or SIGINT, how long calls in flight may take to finish.", "10s",
       "TOKEND_SHUTDOWN_GRACE"},
      {"log-level", "LEVEL", "debug, info, warning or error.", "info", "TOKEND_LOG_LEVEL"},
      {"tls-cert-file", "FILE", "PEM certificate chain for TCP listeners (enables TLS).", "",
       "TOKEND_TLS_CERT_FILE"},
      {"tls-key-file", "FILE", "PEM private key of --tls-cert-file.", "", "TOKEND_TLS_KEY_FILE"},
      {"tls-client-ca-file", "FILE",
       "PEM CA bundle; when set, TCP clients must present a certificate it signed (mTLS).", "",
       "TOKEND_TLS_CLIENT_CA_FILE"},
      {"tls-refresh-interval", "DURATION",
       "How often the TLS files are read again, so that a rotated certificate (e.g. a Kubernetes "
       "Secret update) serves new connections; at least 1s. A bad rotation keeps the last good "
       "files.",
       "1m", "TOKEND_TLS_REFRESH_INTERVAL"},
      {"tls-allowed-clients", "LIST",
       "Comma-separated client identities that may call over mTLS: uri:VALUE or dns:VALUE, "
       "matched against the client certificate's URI or DNS names (e.g. "
       "uri:spiffe://cluster.local/ns/app/sa/reader). Needs --tls-client-ca-file. Empty: every "
       "client certificate the CA signed.",
       "", "TOKEND_TLS_ALLOWED_CLIENTS"},
      {"policy", "FILE",
       "JSON caller policy: which callers may get tokens of which credentials, tenants and "
       "scopes (docs/SECURITY.md). Read at start and on SIGHUP. Empty: every caller that can "
       "connect may get every token.",
       "", "TOKEND_POLICY"},
      {"version", "", "Print the version and exit.", "", ""},
  });
  return *parser;
}

absl::Status FlagError(const FlagValues& flags, absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(flags.Origin(name), ": \"", flags.Get(name), "\": ", why));
}

absl::StatusOr<absl::Duration> ParseDurationFlag(const FlagValues& flags, absl::string_view name,
                                                 absl::Duration max) {
  absl::Duration d;
  if (!absl::ParseDuration(flags.Get(name), &d)) {
    return FlagError(flags, name, "not a duration (examples: 30s, 5m, 1h30m)");
  }
  if (d < absl::ZeroDuration()) return FlagError(flags, name, "must not be negative");
  if (d > max) {
    return FlagError(flags, name, absl::StrCat("must be at most ", absl::FormatDuration(max)));
  }
  return d;
}

bool IsReadableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), R_OK) == 0;
}

absl::Status ParseTls(const FlagValues& flags, TlsFiles* tls) {
  tls->cert_file = flags.Get("tls-cert-file");
  tls->key_file = flags.Get("tls-key-file");
  tls->client_ca_file = flags.Get("tls-client-ca-file");
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert-file and --tls-key-file must be given together");
  }
  if (!tls->client_ca_file.empty() && tls->cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file needs --tls-cert-file and --tls-key-file");
  }
  for (const char* name : {"tls-cert-file", "tls-key-file", "tls-client-ca-file"}) {
    if (!flags.Get(name).empty() && !IsReadableFile(flags.Get(name))) {
      return FlagError(flags, name, "not a readable file");
    }
  }
  TOKEND_ASSIGN_OR_RETURN(tls->refresh_interval,
                          ParseDurationFlag(flags, "tls-refresh-interval", absl::Hours(24)));
  if (tls->refresh_interval < absl::Seconds(1)) {
    return FlagError(flags, "tls-refresh-interval", "must be at least 1s");
  }
  for (const std::string& pattern : SplitList(flags.Get("tls-allowed-clients"))) {
    if (!absl::StartsWith(pattern, "uri:") && !absl::StartsWith(pattern, "dns:")) {
      return absl::InvalidArgumentError(absl::StrCat(
          flags.Origin("tls-allowed-clients"), ": \"", pattern,
          "\" is not uri:VALUE or dns:VALUE (a client certificate's URI or DNS name)"));
    }
    absl::Status checked = CheckCallerPattern(pattern);
    if (!checked.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flags.Origin("tls-allowed-clients"), ": ", checked.message()));
    }
    tls->allowed_clients.push_back(pattern);
  }
  if (!tls->allowed_clients.empty() && tls->client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags.Origin("tls-allowed-clients"),
                     " needs --tls-client-ca-file: without it clients present no certificate to "
                     "match"));
  }
  return absl::OkStatus();
}

// --cloud, --authority-host and --region.
absl::Status ParseAuthority(const FlagValues& flags, Config* config) {
  const std::string& cloud = flags.Get("cloud");
  const std::string& authority = flags.Get("authority-host");
  if (!cloud.empty()) {
    absl::StatusOr<Cloud> parsed = ParseCloud(cloud);
    if (!parsed.ok()) return FlagError(flags, "cloud", parsed.status().message());
    config->cloud = *parsed;
  }
  if (!cloud.empty() && !authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flags.Origin("cloud"), " and ", flags.Origin("authority-host"),
        ": give one (--cloud picks the cloud's authority host; --authority-host names one)"));
  }
  if (authority.empty()) {
    config->authority_host = CloudAuthorityHost(config->cloud);
  } else {
    TOKEND_ASSIGN_OR_RETURN(config->authority_host,
                            NormalizeAuthorityHost(flags.Origin("authority-host"), authority));
  }
  config->region = flags.Get("region");
  if (!config->region.empty()) {
    if (!IsRegionName(config->region)) {
      return FlagError(flags, "region",
                       "not an Azure region name (lowercase letters and digits, e.g. westus2)");
    }
    if (!IsCloudAuthority(config->authority_host)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flags.Origin("region"),
                       ": regional endpoints exist for the Entra ID clouds only, not "
                       "for the authority \"",
                       config->authority_host, "\" (", flags.Origin("authority-host"), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> BuildConfig(const FlagValues& flags) {
  Config config;
  for (const std::string& item : SplitList(flags.Get("listen"))) {
    absl::StatusOr<ListenAddress> address = ParseListenAddress(item);
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flags.Origin("listen"), ": ", address.status().message()));
    }
    config.listen.push_back(*address);
  }
  if (config.listen.empty()) return FlagError(flags, "listen", "needs at least one address");

  const std::string& mode = flags.Get("socket-mode");
  if (mode == "0600" || mode == "600") {
    config.socket_mode = 0600;
  } else if (mode == "0660" || mode == "660") {
    config.socket_mode = 0660;
  } else {
    return FlagError(flags, "socket-mode", "must be 0600 or 0660");
  }

  config.metrics_listen = flags.Get("metrics-listen");
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<ListenAddress> metrics = ParseListenAddress(config.metrics_listen);
    if (!metrics.ok() || metrics->kind != ListenAddress::Kind::kTcp) {
      return FlagError(flags, "metrics-listen", "must be HOST:PORT, e.g. 127.0.0.1:9464");
    }
  }

  config.secrets_dir = flags.Get("secrets-dir");
  struct stat st;
  if (config.secrets_dir.empty()) return FlagError(flags, "secrets-dir", "must not be empty");
  if (stat(config.secrets_dir.c_str(), &st) != 0) {
    return FlagError(flags, "secrets-dir", "does not exist (mount the credential Secret there)");
  }
  if (!S_ISDIR(st.st_mode)) return FlagError(flags, "secrets-dir", "is not a folder");

  TOKEND_RETURN_IF_ERROR(ParseAuthority(flags, &config));

  config.audiences = SplitList(flags.Get("audiences"));
  for (const std::string& tenant : SplitList(flags.Get("allowed-tenants"))) {
    if (tenant == "*") {
      config.any_tenant = true;
    } else if (IsTenantId(tenant)) {
      config.allowed_tenants.push_back(tenant);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          flags.Origin("allowed-tenants"), ": \"", tenant, "\" is not a tenant GUID, domain or *"));
    }
  }

  TOKEND_ASSIGN_OR_RETURN(config.clock_skew,
                          ParseDurationFlag(flags, "clock-skew", absl::Minutes(10)));
  if (!absl::SimpleAtoi(flags.Get("token-requests-per-minute"),
                        &config.token_requests_per_minute) ||
      config.token_requests_per_minute < 1 || config.token_requests_per_minute > 600) {
    return FlagError(flags, "token-requests-per-minute", "must be a whole number from 1 to 600");
  }
  TOKEND_ASSIGN_OR_RETURN(config.shutdown_grace,
                          ParseDurationFlag(flags, "shutdown-grace", absl::Minutes(10)));

  absl::StatusOr<LogLevel> level = ParseLogLevel(flags.Get("log-level"));
  if (!level.ok()) return FlagError(flags, "log-level", level.status().message());
  config.log_level = *level;

  TOKEND_RETURN_IF_ERROR(ParseTls(flags, &config.tls));
  config.policy_file = flags.Get("policy");
  if (!config.policy_file.empty() && !IsReadableFile(config.policy_file)) {
    return FlagError(flags, "policy", "not a readable file");
  }
  for (const ListenAddress& address : config.listen) {
    if (address.kind == ListenAddress::Kind::kTcp && !address.loopback && !config.tls.enabled()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flags.Origin("listen"), ": \"", address.GrpcAddress(),
          "\" is reachable from other hosts; serving tokens there needs TLS: give "
          "--tls-cert-file and --tls-key-file (and --tls-client-ca-file for mTLS), or listen on "
          "a Unix socket or loopback address"));
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                                   const EnvLookup& env) {
  TOKEND_ASSIGN_OR_RETURN(FlagValues flags, Parser().Parse(args, env));
  ParsedCommandLine out;
  if (flags.help()) {
    out.action = ParsedCommandLine::Action::kHelp;
    return out;
  }
  if (flags.GetBool("version")) {
    out.action = ParsedCommandLine::Action::kVersion;
    return out;
  }
  TOKEND_ASSIGN_OR_RETURN(out.config, BuildConfig(flags));
  return out;
}

std::string Usage() {
  return absl::StrCat(
      "Usage: tokend [flags]\n\n"
      "tokend obtains Microsoft Entra ID access tokens for the workloads beside it, validates\n"
      "the tokens other services present, and builds admin-consent links, over gRPC\n"
      "(tokend.v1.TokenService). Each flag may also be set by its environment variable; the\n"
      "flag wins.\n\nFlags:\n",
      Parser().Usage(), "  --help\n      Print this help and exit.\n");
}

}  // namespace tokend
