#include "service/adapters/metrics_http_server.h"

#include <civetweb.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tokend {
namespace {

void Reply(mg_connection* connection, int status, const char* content_type,
           const std::string& body) {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(connection, status), content_type, body.size());
  mg_write(connection, body.data(), body.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, MetricsHandlers handlers) {
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(std::move(handlers)));
  const char* options[] = {"listening_ports",    address.c_str(), "num_threads", "2",
                           "request_timeout_ms", "10000",         nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // Quiet.
  server->context_ = mg_start(&callbacks, nullptr, options);
  if (server->context_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--metrics-listen: cannot listen on ", address, " (in use or not local?)"));
  }
  mg_set_request_handler(server->context_, "/", &MetricsHttpServer::Handle, server.get());
  mg_server_port port;
  std::memset(&port, 0, sizeof(port));
  if (mg_get_server_ports(server->context_, 1, &port) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("--metrics-listen: no port bound for ", address));
  }
  server->address_ = absl::StrCat(address.substr(0, address.rfind(':')), ":", port.port);
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (context_ != nullptr) mg_stop(context_);
}

int MetricsHttpServer::Handle(mg_connection* connection, void* self) {
  const MetricsHttpServer& server = *static_cast<MetricsHttpServer*>(self);
  const mg_request_info* request = mg_get_request_info(connection);
  const std::string method = request->request_method != nullptr ? request->request_method : "";
  const std::string path = request->local_uri != nullptr ? request->local_uri : "";
  if (method != "GET" && method != "HEAD") {
    Reply(connection, 405, "text/plain", "only GET\n");
    return 405;
  }
  if (path == "/metrics") {
    Reply(connection, 200, "text/plain; version=0.0.4; charset=utf-8", server.handlers_.metrics());
    return 200;
  }
  if (path == "/healthz") {
    Reply(connection, 200, "text/plain", "ok\n");
    return 200;
  }
  if (path == "/readyz") {
    std::string reason;
    if (server.handlers_.ready(&reason)) {
      Reply(connection, 200, "text/plain", "ready\n");
      return 200;
    }
    Reply(connection, 503, "text/plain", absl::StrCat("not ready: ", reason, "\n"));
    return 503;
  }
  Reply(connection, 404, "text/plain", "not found; try /metrics, /healthz or /readyz\n");
  return 404;
}

}  // namespace tokend
