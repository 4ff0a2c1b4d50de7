#include "service/server/caller_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace tokend {
namespace {

absl::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

Caller CallerOf(const grpc::ServerContextBase& context) {
  Caller caller;
  // The peer address is what the server's socket reports (getpeername), not what the client
  // claims, so it tells the transport reliably; identities come from the auth context only.
  const std::string peer = context.peer();
  if (absl::StartsWith(peer, "unix:") || absl::StartsWith(peer, "unix-abstract:")) {
    caller.transport = Caller::Transport::kUnix;
    return caller;
  }
  caller.transport = Caller::Transport::kTcp;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return caller;
  bool tls = false;
  bool certificate = false;
  for (const grpc::AuthProperty& property : *auth) {
    const absl::string_view name = View(property.first);
    const absl::string_view value = View(property.second);
    if (name == GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME) {
      // "ssl" for SslServerCredentials, "tls" for TlsServerCredentials, "insecure" otherwise.
      tls = value == GRPC_SSL_TRANSPORT_SECURITY_TYPE || value == GRPC_TLS_TRANSPORT_SECURITY_TYPE;
    } else if (name == GRPC_X509_PEM_CERT_PROPERTY_NAME) {
      certificate = true;  // The client presented a certificate (verified: see the header).
    } else if (name == GRPC_PEER_URI_PROPERTY_NAME) {
      caller.uri_sans.emplace_back(value);
    } else if (name == GRPC_PEER_DNS_PROPERTY_NAME) {
      caller.dns_sans.emplace_back(value);
    }
  }
  if (tls && certificate) {
    caller.transport = Caller::Transport::kMtls;
    return caller;
  }
  if (tls) caller.transport = Caller::Transport::kTls;
  caller.uri_sans.clear();  // Names count only from a client certificate.
  caller.dns_sans.clear();
  return caller;
}

}  // namespace tokend
