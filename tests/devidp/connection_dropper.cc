#include "tests/devidp/connection_dropper.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>

namespace tokend {
namespace devidp {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

// Returns the port of `addr` and stores its numeric host in *host; -1 if not IPv4/IPv6.
int PortAndHost(const sockaddr_storage& addr, std::string* host) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    *host = text;
    return ntohs(in.sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    *host = text;
    return ntohs(in6.sin6_port);
  }
  return -1;
}

bool Matches(int fd, int local_port, const std::string& remote_addr, int remote_port) {
  sockaddr_storage local = {};
  socklen_t length = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return false;
  std::string host;
  if (PortAndHost(local, &host) != local_port) return false;
  sockaddr_storage peer = {};
  length = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
  return PortAndHost(peer, &host) == remote_port && host == remote_addr;
}

}  // namespace

absl::Status DropConnection(int local_port, const std::string& remote_addr, int remote_port) {
  std::unique_ptr<DIR, DirCloser> dir(opendir("/proc/self/fd"));
  if (dir == nullptr) return absl::UnavailableError("cannot list /proc/self/fd");
  const int dir_fd = dirfd(dir.get());
  while (const dirent* entry = readdir(dir.get())) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dir_fd) continue;
    if (Matches(static_cast<int>(fd), local_port, remote_addr, remote_port)) {
      shutdown(static_cast<int>(fd), SHUT_RDWR);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError("connection to drop not found");
}

}  // namespace devidp
}  // namespace tokend
