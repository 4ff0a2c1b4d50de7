// CallerOf: who is calling, as gRPC's transport tells it, for --tls-allowed-clients and the
// caller policy. A Unix socket peer is kUnix; a TCP peer without TLS kTcp; a TLS peer kTls, or
// kMtls with its client certificate's URI and DNS SANs when it presented one (tokend requires
// and verifies one whenever --tls-client-ca-file is set). Unix callers carry no identity:
// gRPC 1.51's public API does not expose the connection, so the peer's uid cannot be read.
#ifndef TOKEND_SERVICE_SERVER_CALLER_IDENTITY_H_
#define TOKEND_SERVICE_SERVER_CALLER_IDENTITY_H_

#include <grpcpp/server_context.h>

#include "service/core/caller_policy.h"

namespace tokend {

// Reads the peer address and, for a TCP peer, the auth context. Thread-safe; costs a string
// copy of the peer address and, for TCP peers, a walk of the auth context's properties.
Caller CallerOf(const grpc::ServerContextBase& context);

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_CALLER_IDENTITY_H_
