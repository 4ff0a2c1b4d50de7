// A gRPC listening address from --listen: a Unix socket ("unix:///run/tokend/tokend.sock") or a
// TCP address ("127.0.0.1:50051", "[::1]:50051", "localhost:50051", "0.0.0.0:50051").
#ifndef TOKEND_SERVICE_CONFIG_LISTEN_ADDRESS_H_
#define TOKEND_SERVICE_CONFIG_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;      // kUnix: absolute socket path.
  std::string host;      // kTcp: host as written (brackets kept for IPv6).
  int port = 0;          // kTcp: 0 asks the system for a free port.
  bool loopback = true;  // kUnix, or a TCP host that only loopback clients can reach.

  // The address in gRPC's syntax ("unix:/path" or "host:port").
  std::string GrpcAddress() const;
};

// Parses one address. INVALID_ARGUMENT (saying what is wrong, quoting the address) otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CONFIG_LISTEN_ADDRESS_H_
