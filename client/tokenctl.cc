// tokenctl: the command-line client of tokend. JSON on stdout; exit codes scripts can use:
//   0 ok, 1 a negative answer (e.g. NOT_SERVING), 2 usage or a request the server rejected as
//   invalid, 3 the service failed or could not be reached.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/token_client.h"
#include "nlohmann/json.hpp"
#include "service/common/flag_parser.h"

namespace tokend {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitNegative = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailed = 3;

const char* Env(const char* name) { return std::getenv(name); }

const FlagParser& GlobalFlags() {
  static const FlagParser* parser = new FlagParser({
      {"addr", "ADDRESS", "tokend's address: unix:///PATH or HOST:PORT.",
       "unix:///run/tokend/tokend.sock", "TOKEND_ADDR"},
      {"timeout", "DURATION", "Deadline of each call.", "5s", "TOKENCTL_TIMEOUT"},
      {"version", "", "Print the version and exit.", "", ""},
  });
  return *parser;
}

const FlagParser& ConsentUrlFlags() {
  static const FlagParser* parser = new FlagParser({
      {"credential", "NAME", "Credential whose application the link is for.", "", ""},
      {"tenant", "TENANT", "Tenant GUID or domain of the consenting administrator.", "", ""},
      {"kind", "KIND", "v1-consent (the default), v1-admin-consent or v2-admin-consent.",
       "v1-consent", ""},
      {"redirect-uri", "URL", "Where the administrator is sent afterwards.", "", ""},
      {"state", "STATE", "Opaque value returned to the redirect URI.", "", ""},
      {"scope", "SCOPE",
       "v2 only; repeatable, e.g. https://api.securitycenter.microsoft.com/.default", "", "",
       /*repeated=*/true},
  });
  return *parser;
}

const FlagParser& TokenFlags() {
  static const FlagParser* parser = new FlagParser({
      {"credential", "NAME", "Credential to use; empty for the only (or \"default\") one.", "", ""},
      {"tenant", "TENANT", "Tenant to get the token in; empty for the credential's own.", "", ""},
      {"scope", "SCOPE",
       "v2 endpoint scope, repeatable, e.g. https://api.securitycenter.microsoft.com/.default", "",
       "", /*repeated=*/true},
      {"resource", "URI", "v1 endpoint resource, e.g. https://api.securitycenter.microsoft.com", "",
       ""},
      {"min-validity", "DURATION",
       "The token must stay valid this long (default on the server: "
       "5m).",
       "", ""},
      {"force-refresh", "", "Get a new token even if a cached one would do.", "", ""},
      {"count", "N", "watch only: stop after N tokens (0: never).", "0", ""},
  });
  return *parser;
}

const FlagParser& ValidateFlags() {
  static const FlagParser* parser = new FlagParser({
      {"token", "TOKEN",
       "The access token, with or without \"Bearer \"; - reads it from stdin (keeps it out of "
       "the process list).",
       "", ""},
      {"role", "ROLE", "A role the token must hold; repeatable.", "", "", /*repeated=*/true},
      {"audience", "AUDIENCE", "An accepted audience (replaces the server's); repeatable.", "", "",
       /*repeated=*/true},
  });
  return *parser;
}

const FlagParser& HealthFlags() {
  static const FlagParser* parser = new FlagParser({
      {"service", "NAME", "Service to check; empty for the whole server.", "", ""},
  });
  return *parser;
}

std::string MainUsage() {
  return absl::StrCat(
      "Usage: tokenctl [--addr ADDRESS] [--timeout DURATION] COMMAND [flags]\n\n"
      "Commands:\n"
      "  get-token     Get an access token (JSON with access_token, expires_at, roles).\n"
      "  watch         Print the token now and after every renewal, one JSON line each.\n"
      "  validate      Validate an access token (exit 1 if it is not valid).\n"
      "  consent-url   Build the admin-consent link for a tenant.\n"
      "  health        Ask whether tokend is ready (exit 1 if not).\n\n"
      "Run 'tokenctl COMMAND --help' for a command's flags.\n"
      "Exit codes: 0 ok, 1 negative answer, 2 usage or invalid request, 3 service failure.\n\n"
      "Flags:\n",
      GlobalFlags().Usage());
}

int UsageError(absl::string_view message) {
  std::cerr << "tokenctl: " << message << "\n";
  return kExitUsage;
}

int RpcError(absl::string_view command, const absl::Status& status) {
  nlohmann::json out;
  out["error"] = {{"code", absl::StatusCodeToString(status.code())},
                  {"message", std::string(status.message())}};
  ErrorDetails details = ErrorDetailsOf(status);
  if (!details.reason.empty()) out["error"]["reason"] = details.reason;
  if (!details.error.empty()) out["error"]["error"] = details.error;
  if (!details.trace_id.empty()) out["error"]["trace_id"] = details.trace_id;
  if (!details.correlation_id.empty()) out["error"]["correlation_id"] = details.correlation_id;
  if (!details.consent_url.empty()) out["error"]["consent_url"] = details.consent_url;
  if (details.retry_after > absl::ZeroDuration()) {
    out["error"]["retry_after_seconds"] = absl::ToDoubleSeconds(details.retry_after);
  }
  std::cout << out.dump(2) << "\n";
  std::cerr << "tokenctl: " << command << ": " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

absl::StatusOr<FlagValues> ParseCommandFlags(const FlagParser& parser,
                                             const std::vector<std::string>& args) {
  return parser.Parse(std::vector<std::string>(args.begin() + 1, args.end()), Env);
}

int ConsentUrl(const TokenClient& client, const std::vector<std::string>& args) {
  absl::StatusOr<FlagValues> flags = ParseCommandFlags(ConsentUrlFlags(), args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (flags->help()) {
    std::cout << "Usage: tokenctl consent-url [flags]\n\nFlags:\n" << ConsentUrlFlags().Usage();
    return kExitOk;
  }
  v1::ConsentUrlRequest request;
  const std::string& kind = flags->Get("kind");
  if (kind == "v1-consent") {
    request.set_kind(v1::CONSENT_KIND_V1_CONSENT);
  } else if (kind == "v1-admin-consent") {
    request.set_kind(v1::CONSENT_KIND_V1_ADMIN_CONSENT);
  } else if (kind == "v2-admin-consent") {
    request.set_kind(v1::CONSENT_KIND_V2_ADMIN_CONSENT);
  } else {
    return UsageError(absl::StrCat("--kind: \"", kind,
                                   "\": must be v1-consent, v1-admin-consent or v2-admin-consent"));
  }
  request.set_credential(flags->Get("credential"));
  request.set_tenant_id(flags->Get("tenant"));
  request.set_redirect_uri(flags->Get("redirect-uri"));
  request.set_state(flags->Get("state"));
  for (const std::string& scope : flags->GetAll("scope")) request.add_scopes(scope);
  absl::StatusOr<std::string> url = client.ConsentUrl(request);
  if (!url.ok()) return RpcError("consent-url", url.status());
  std::cout << nlohmann::json{{"url", *url}}.dump(2) << "\n";
  return kExitOk;
}

nlohmann::json TokenJson(const v1::GetTokenResponse& response) {
  nlohmann::json roles = nlohmann::json::array();
  for (const std::string& role : response.roles()) roles.push_back(role);
  return {{"access_token", response.access_token()},
          {"token_type", response.token_type()},
          {"expires_at", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                          absl::FromUnixSeconds(response.expires_at().seconds()),
                                          absl::UTCTimeZone())},
          {"tenant_id", response.tenant_id()},
          {"roles", roles},
          {"from_cache", response.from_cache()}};
}

// Parses the flags shared by get-token and watch into a request; returns a usage error.
absl::StatusOr<v1::GetTokenRequest> TokenRequestFromFlags(const FlagValues& flags) {
  v1::GetTokenRequest request;
  request.set_credential(flags.Get("credential"));
  request.set_tenant_id(flags.Get("tenant"));
  for (const std::string& scope : flags.GetAll("scope")) request.add_scopes(scope);
  request.set_resource(flags.Get("resource"));
  if (request.scopes().empty() == request.resource().empty()) {
    return absl::InvalidArgumentError("give exactly one of --scope and --resource");
  }
  if (!flags.Get("min-validity").empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(flags.Get("min-validity"), &d) || d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--min-validity: \"", flags.Get("min-validity"), "\": not a duration (e.g. 10m)"));
    }
    request.mutable_min_validity()->set_seconds(absl::ToInt64Seconds(d));
  }
  request.set_force_refresh(flags.GetBool("force-refresh"));
  return request;
}

int GetToken(const TokenClient& client, const std::vector<std::string>& args) {
  absl::StatusOr<FlagValues> flags = ParseCommandFlags(TokenFlags(), args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (flags->help()) {
    std::cout << "Usage: tokenctl get-token (--scope SCOPE | --resource URI) [flags]\n\nFlags:\n"
              << TokenFlags().Usage();
    return kExitOk;
  }
  absl::StatusOr<v1::GetTokenRequest> request = TokenRequestFromFlags(*flags);
  if (!request.ok()) return UsageError(request.status().message());
  absl::StatusOr<v1::GetTokenResponse> response = client.GetToken(*request);
  if (!response.ok()) return RpcError("get-token", response.status());
  std::cout << TokenJson(*response).dump(2) << "\n";
  return kExitOk;
}

int Watch(const TokenClient& client, const std::vector<std::string>& args) {
  absl::StatusOr<FlagValues> flags = ParseCommandFlags(TokenFlags(), args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (flags->help()) {
    std::cout << "Usage: tokenctl watch (--scope SCOPE | --resource URI) [--count N] [flags]\n"
                 "Prints one JSON line per token: now, and after every renewal.\n\nFlags:\n"
              << TokenFlags().Usage();
    return kExitOk;
  }
  absl::StatusOr<v1::GetTokenRequest> request = TokenRequestFromFlags(*flags);
  if (!request.ok()) return UsageError(request.status().message());
  int64_t count = 0;
  if (!absl::SimpleAtoi(flags->Get("count"), &count) || count < 0) {
    return UsageError("--count: must be a whole number >= 0");
  }
  int64_t seen = 0;
  absl::Status status = client.WatchToken(*request, [&](const v1::GetTokenResponse& response) {
    std::cout << TokenJson(response).dump() << std::endl;
    return count == 0 || ++seen < count;
  });
  if (!status.ok()) return RpcError("watch", status);
  return kExitOk;
}

int Validate(const TokenClient& client, const std::vector<std::string>& args) {
  absl::StatusOr<FlagValues> flags = ParseCommandFlags(ValidateFlags(), args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (flags->help()) {
    std::cout << "Usage: tokenctl validate --token TOKEN|- [--role ROLE]... [--audience AUD]...\n"
                 "Exit 0 if the token is valid, 1 if not.\n\nFlags:\n"
              << ValidateFlags().Usage();
    return kExitOk;
  }
  v1::ValidateTokenRequest request;
  std::string token = flags->Get("token");
  if (token == "-") {
    std::getline(std::cin, token);
  }
  if (token.empty()) return UsageError("--token: required (or - to read it from stdin)");
  request.set_token(token);
  for (const std::string& role : flags->GetAll("role")) request.add_required_roles(role);
  for (const std::string& aud : flags->GetAll("audience")) request.add_audiences(aud);
  absl::StatusOr<v1::ValidateTokenResponse> response = client.ValidateToken(request);
  if (!response.ok()) return RpcError("validate", response.status());
  std::string failure = v1::ValidationFailure_Name(response->failure());
  nlohmann::json claims = {{"tenant_id", response->claims().tenant_id()},
                           {"app_id", response->claims().app_id()},
                           {"object_id", response->claims().object_id()},
                           {"issuer", response->claims().issuer()},
                           {"version", response->claims().version()},
                           {"audiences", nlohmann::json::array()},
                           {"roles", nlohmann::json::array()},
                           {"expires_at", response->claims().expires_at().seconds()}};
  for (const std::string& aud : response->claims().audiences()) claims["audiences"].push_back(aud);
  for (const std::string& role : response->claims().roles()) claims["roles"].push_back(role);
  nlohmann::json out = {{"valid", response->valid()},
                        {"failure", response->valid() ? "" : failure},
                        {"detail", response->detail()},
                        {"claims", claims},
                        {"missing_roles", nlohmann::json::array()}};
  for (const std::string& role : response->missing_roles()) out["missing_roles"].push_back(role);
  std::cout << out.dump(2) << "\n";
  return response->valid() ? kExitOk : kExitNegative;
}

int Health(const TokenClient& client, const std::vector<std::string>& args) {
  absl::StatusOr<FlagValues> flags = ParseCommandFlags(HealthFlags(), args);
  if (!flags.ok()) return UsageError(flags.status().message());
  if (flags->help()) {
    std::cout << "Usage: tokenctl health [--service NAME]\n\nFlags:\n" << HealthFlags().Usage();
    return kExitOk;
  }
  absl::StatusOr<HealthStatus> status = client.Health(flags->Get("service"));
  if (!status.ok()) return RpcError("health", status.status());
  std::cout << nlohmann::json{{"status", HealthStatusName(*status)}}.dump(2) << "\n";
  return *status == HealthStatus::kServing ? kExitOk : kExitNegative;
}

int Main(int argc, char** argv) {
  absl::StatusOr<FlagValues> global =
      GlobalFlags().Parse(std::vector<std::string>(argv + 1, argv + argc), Env,
                          /*stop_at_positional=*/true);
  if (!global.ok()) return UsageError(global.status().message());
  if (global->GetBool("version")) {
    std::cout << "tokenctl " << TOKEND_VERSION << "\n";
    return kExitOk;
  }
  const std::vector<std::string>& args = global->positional();
  if (global->help() && args.empty()) {
    std::cout << MainUsage();
    return kExitOk;
  }
  if (args.empty()) {
    std::cerr << MainUsage();
    return kExitUsage;
  }
  ClientOptions options;
  if (!absl::ParseDuration(global->Get("timeout"), &options.timeout) ||
      options.timeout <= absl::ZeroDuration()) {
    return UsageError(absl::StrCat(global->Origin("timeout"), ": \"", global->Get("timeout"),
                                   "\": not a positive duration (examples: 500ms, 5s)"));
  }
  absl::StatusOr<std::unique_ptr<TokenClient>> client =
      TokenClient::Create(global->Get("addr"), options);
  if (!client.ok()) return UsageError(client.status().message());
  const std::string& command = args.front();
  if (command == "get-token") return GetToken(**client, args);
  if (command == "watch") return Watch(**client, args);
  if (command == "validate") return Validate(**client, args);
  if (command == "consent-url") return ConsentUrl(**client, args);
  if (command == "health") return Health(**client, args);
  // Only a word-like command is quoted back: a token pasted in its place must not be echoed.
  bool word = command.size() <= 32 &&
              command.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string::npos;
  return UsageError(absl::StrCat("unknown command", word ? absl::StrCat(" \"", command, "\"") : "",
                                 " (see tokenctl --help)"));
}

}  // namespace
}  // namespace tokend

int main(int argc, char** argv) { return tokend::Main(argc, argv); }
