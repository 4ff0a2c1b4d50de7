#include "service/config/listen_address.h"

#include <sys/un.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/core/identifiers.h"

namespace tokend {

std::string ListenAddress::GrpcAddress() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix:", path);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\": ", why));
  };
  ListenAddress out;
  absl::string_view rest = address;
  if (absl::ConsumePrefix(&rest, "unix://") || absl::ConsumePrefix(&rest, "unix:")) {
    out.kind = ListenAddress::Kind::kUnix;
    if (!absl::StartsWith(rest, "/")) {
      return bad("a Unix socket needs an absolute path, e.g. unix:///run/tokend/tokend.sock");
    }
    if (absl::EndsWith(rest, "/")) return bad("a Unix socket path must name a file");
    if (rest.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return bad(absl::StrCat("a Unix socket path must be shorter than ",
                              sizeof(sockaddr_un{}.sun_path), " bytes"));
    }
    out.path = std::string(rest);
    return out;
  }
  if (absl::StrContains(address, "://")) {
    return bad("unsupported scheme; use unix:///PATH or HOST:PORT");
  }
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos)
    return bad("a TCP address needs a port, e.g. 127.0.0.1:50051");
  absl::string_view host = address.substr(0, colon);
  absl::string_view port = address.substr(colon + 1);
  if (host.empty()) return bad("a TCP address needs a host, e.g. 127.0.0.1:50051");
  if (!absl::SimpleAtoi(port, &out.port) || out.port < 0 || out.port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  if (host.find(':') != absl::string_view::npos &&
      !(absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))) {
    return bad("an IPv6 host must be in brackets, e.g. [::1]:50051");
  }
  out.kind = ListenAddress::Kind::kTcp;
  out.host = std::string(host);
  out.loopback = IsLoopbackHost(host);
  return out;
}

}  // namespace tokend
