#include "tests/devidp/idp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/devidp/connection_dropper.h"
#include "tests/devidp/discovery_document.h"
#include "tests/devidp/entra_error.h"
#include "tests/devidp/guid.h"
#include "tests/devidp/http_reply.h"

namespace tokend {
namespace devidp {
namespace {

constexpr char kTenant[] = "/([^/]+)";
constexpr int kKeepAliveMaxRequests = 1000;

void Write(const HttpReply& reply, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name.c_str(), value);
  res.set_content(reply.body, reply.content_type.c_str());
}

// Returns the start of a JSON document for `endpoint`, cut off mid-value.
const char* TruncatedJson(FaultEndpoint endpoint) {
  switch (endpoint) {
    case FaultEndpoint::kToken:
      return R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eX)";
    case FaultEndpoint::kKeys:
      return R"({"keys":[{"kty":"RSA","use":"sig","kid":")";
    default:
      return R"({"token_endpoint":"http://)";
  }
}

// Returns `path` with a secret in /_devidp/apps/{id}/secrets/{secret} replaced, for logs.
std::string RedactedPath(const std::string& path) {
  const size_t at = path.find("/secrets/");
  if (absl::StartsWith(path, "/_devidp/apps/") && at != std::string::npos) {
    return absl::StrCat(path.substr(0, at), "/secrets/<redacted>");
  }
  return path;
}

// Returns the client-request-id header if it is a GUID (Entra echoes it as correlation id).
std::string CorrelationId(const httplib::Request& req) {
  std::string id = req.get_header_value("client-request-id");
  return IsGuid(id) ? id : std::string();
}

}  // namespace

absl::Status CheckLoopbackHost(const std::string& host) {
  in_addr v4;
  in6_addr v6;
  if (host == "localhost" ||
      (inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
      (inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("refusing to listen on non-loopback host \"", host, "\""));
}

IdpServer::IdpServer(const IdpConfig& config, IdpServerOptions options,
                     std::unique_ptr<SigningKeyStore> keys)
    : options_(std::move(options)),
      directory_(std::make_unique<Directory>(config)),
      keys_(std::move(keys)),
      minter_(*keys_),
      verifier_(*directory_),
      issuer_(*directory_, minter_, verifier_,
              TokenIssuerOptions{
                  absl::Seconds(config.token_lifetime_seconds),
                  config.refresh_in_seconds.has_value()
                      ? absl::optional<absl::Duration>(absl::Seconds(*config.refresh_in_seconds))
                      : absl::nullopt}),
      admin_(*directory_, faults_, *keys_, counters_) {}

absl::StatusOr<std::unique_ptr<IdpServer>> IdpServer::Start(IdpConfig config,
                                                            IdpServerOptions options) {
  if (absl::Status s = CheckLoopbackHost(options.host); !s.ok()) return s;
  if (options.port < 0 || options.port > 65535 || options.threads < 1) {
    return absl::InvalidArgumentError("port must be 0..65535 and threads positive");
  }
  absl::StatusOr<IdpConfig> normalized = IdpConfig::Normalize(std::move(config));
  if (!normalized.ok()) return normalized.status();
  absl::StatusOr<std::unique_ptr<SigningKeyStore>> keys =
      SigningKeyStore::Create(options.signing_key);
  if (!keys.ok()) return keys.status();
  std::unique_ptr<IdpServer> server(
      new IdpServer(*normalized, std::move(options), *std::move(keys)));
  server->RegisterRoutes();

  httplib::Server& http = server->http_;
  const std::string& host = server->options_.host;
  const int port =
      server->options_.port == 0
          ? http.bind_to_any_port(host)
          : (http.bind_to_port(host, server->options_.port) ? server->options_.port : -1);
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", server->options_.port));
  }
  server->port_ = port;
  const std::string url_host = absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
  server->listening_url_ = absl::StrCat("http://", url_host, ":", port);
  std::string base = server->options_.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  server->base_url_ = base.empty() ? server->listening_url_ : base;

  // The socket is bound and listening, so clients can connect already. Wait until the accept
  // loop runs (or has failed), because httplib's stop() is a no-op before that.
  auto listener_done = std::make_shared<std::atomic<bool>>(false);
  server->listener_ = std::thread([&http, listener_done] {
    http.listen_after_bind();
    *listener_done = true;
  });
  while (!http.is_running() && !*listener_done) absl::SleepFor(absl::Milliseconds(1));
  if (!http.is_running()) {
    server->Stop();
    return absl::UnavailableError("the HTTP listener stopped at start");
  }
  return server;
}

IdpServer::~IdpServer() { Stop(); }

void IdpServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  http_.stop();
  if (listener_.joinable()) listener_.join();
}

void IdpServer::RegisterRoutes() {
  using httplib::Request;
  using httplib::Response;
  const int threads = options_.threads;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_keep_alive_max_count(kKeepAliveMaxRequests);
  http_.set_tcp_nodelay(true);
  if (options_.log_requests) {
    http_.set_logger([](const Request& req, const Response& res) {
      std::fprintf(stderr, "tokend-devidp: %s %s %d\n", req.method.c_str(),
                   RedactedPath(req.path).c_str(), res.status);
    });
  }
  http_.set_error_handler(httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
    if (res.status != 404 || !res.body.empty()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_content(DumpJson(nlohmann::json{{"error", "not_found"}}), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));

  http_.Post(
      absl::StrCat(kTenant, "/oauth2/v2\\.0/token"),
      [this](const Request& req, Response& res) { HandleToken(TokenEndpoint::kV2, req, res); });
  http_.Post(absl::StrCat(kTenant, "/oauth2/token"), [this](const Request& req, Response& res) {
    HandleToken(TokenEndpoint::kV1, req, res);
  });
  http_.Get(
      absl::StrCat(kTenant, "/\\.well-known/openid-configuration"),
      [this](const Request& req, Response& res) { HandleDiscovery(KeysVersion::kV1, req, res); });
  http_.Get(
      absl::StrCat(kTenant, "/v2\\.0/\\.well-known/openid-configuration"),
      [this](const Request& req, Response& res) { HandleDiscovery(KeysVersion::kV2, req, res); });
  http_.Get(absl::StrCat(kTenant, "/discovery/keys"),
            [this](const Request& req, Response& res) { HandleKeys(KeysVersion::kV1, req, res); });
  http_.Get(absl::StrCat(kTenant, "/discovery/v2\\.0/keys"),
            [this](const Request& req, Response& res) { HandleKeys(KeysVersion::kV2, req, res); });
  admin_.Register(http_);
}

void IdpServer::HandleToken(TokenEndpoint endpoint, const httplib::Request& req,
                            httplib::Response& res) {
  const TokenRequest request = ParseTokenRequest(endpoint, req.matches[1].str(), req.body,
                                                 req.get_header_value("Authorization"));
  const std::string client_id = request.client_id.value_or("");
  if (ApplyFaults(FaultEndpoint::kToken, req, res)) {
    counters_.RecordToken(client_id, false);
    return;
  }
  // A client assertion's aud may name this server by its public or its listening URL.
  const HttpReply reply =
      issuer_.Issue(request, Now(), CorrelationId(req), {base_url_, listening_url_});
  counters_.RecordToken(client_id, reply.status == 200);
  Write(reply, res);
}

void IdpServer::HandleDiscovery(KeysVersion version, const httplib::Request& req,
                                httplib::Response& res) {
  counters_.RecordDiscovery();
  if (ApplyFaults(FaultEndpoint::kDiscovery, req, res)) return;
  const std::string segment = req.matches[1].str();
  const TenantConfig* tenant = nullptr;
  if (!IsMultiTenantAlias(segment)) {
    tenant = directory_->FindTenant(segment);
    if (tenant == nullptr) return ReplyUnknownTenant(segment, res);
  }
  Write(HttpReply::FromJson(200, DiscoveryDocument(version, base_url_, tenant, segment)), res);
}

void IdpServer::HandleKeys(KeysVersion version, const httplib::Request& req,
                           httplib::Response& res) {
  counters_.RecordKeys();
  if (ApplyFaults(FaultEndpoint::kKeys, req, res)) return;
  const std::string segment = req.matches[1].str();
  if (!IsMultiTenantAlias(segment) && directory_->FindTenant(segment) == nullptr) {
    return ReplyUnknownTenant(segment, res);
  }
  Write(HttpReply::FromJson(200, keys_->Jwks(version)), res);
}

void IdpServer::ReplyUnknownTenant(const std::string& tenant, httplib::Response& res) const {
  const EntraError error = EntraError::TenantNotFound(tenant);
  Write(HttpReply::FromJson(error.http_status, error.ToJson(Now(), RandomGuid(), RandomGuid())),
        res);
}

bool IdpServer::ApplyFaults(FaultEndpoint endpoint, const httplib::Request& req,
                            httplib::Response& res) {
  const FaultPlan plan = faults_.Take(endpoint);
  if (plan.latency > absl::ZeroDuration()) absl::SleepFor(plan.latency);
  if (!plan.action.has_value()) return false;
  const Fault& fault = *plan.action;
  HttpReply reply;
  switch (fault.kind) {
    case FaultKind::kLatency:
      return false;
    case FaultKind::kDropConnection:
      if (absl::Status s = DropConnection(req.local_port, req.remote_addr, req.remote_port);
          !s.ok()) {
        std::fprintf(stderr, "tokend-devidp: drop_connection failed: %s\n",
                     std::string(s.message()).c_str());
        res.status = 500;
        return true;
      }
      res.status = 444;  // Only for the request log: nothing reaches the client.
      return true;
    case FaultKind::kStatus: {
      EntraError error = EntraError::ForInjectedStatus(fault.status);
      if (!fault.error.empty()) error.error = fault.error;
      if (fault.error_code != 0) error.code = fault.error_code;
      if (!fault.error_description.empty()) error.message = fault.error_description;
      reply = HttpReply::FromJson(fault.status, error.ToJson(Now(), RandomGuid(), RandomGuid()));
      break;
    }
    case FaultKind::kMalformedJson:
      reply.status = fault.status == 0 ? 200 : fault.status;
      reply.body = TruncatedJson(endpoint);
      break;
  }
  if (fault.retry_after_seconds.has_value()) {
    reply.headers.emplace_back("Retry-After", absl::StrCat(*fault.retry_after_seconds));
  }
  Write(reply, res);
  return true;
}

}  // namespace devidp
}  // namespace tokend
