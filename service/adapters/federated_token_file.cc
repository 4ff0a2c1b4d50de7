#include "service/adapters/federated_token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/core/jwt.h"

namespace tokend {
namespace {

constexpr size_t kMaxTokenFileSize = 64 * 1024;  // Projected tokens are about 1 KiB.

std::string ErrnoText(int err) {
  return absl::AsciiStrToLower(std::generic_category().message(err));
}

}  // namespace

absl::StatusOr<SecretString> FederatedTokenFile::Assertion(const std::string& /*client_id*/,
                                                           const std::string& /*audience*/,
                                                           absl::Time now) {
  auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(variable_, " \"", absl::CHexEscape(path_), "\": ", why));
  };
  // O_NONBLOCK: a FIFO planted at the path must not hang the worker thread.
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      return fail("does not exist (is the projected service-account token volume mounted?)");
    }
    return fail(absl::StrCat("cannot be opened: ", ErrnoText(errno)));
  }
  struct Closer {
    ~Closer() { close(fd); }
    int fd;
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(absl::StrCat("cannot be read: ", ErrnoText(errno)));
  if (!S_ISREG(st.st_mode)) return fail("is not a regular file");
  // One allocation of the final capacity, so that SecretString can wipe every byte read.
  std::string buffer(kMaxTokenFileSize + 1, '\0');
  size_t size = 0;
  while (size < buffer.size()) {
    ssize_t n = read(fd, &buffer[size], buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(absl::StrCat("cannot be read: ", ErrnoText(errno)));
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  buffer.resize(size);
  SecretString content(std::move(buffer));
  if (size > kMaxTokenFileSize) {
    return fail(absl::StrCat("is larger than ", kMaxTokenFileSize, " bytes"));
  }
  absl::string_view token = absl::StripAsciiWhitespace(content.Reveal());
  if (token.empty()) return fail("is empty");
  absl::StatusOr<Jwt> jwt = ParseJwt(token);
  if (!jwt.ok()) {
    return fail(
        absl::StrCat("does not hold a service-account token (a JWT): ", jwt.status().message()));
  }
  if (absl::FromUnixSeconds(jwt->exp) <= now) {
    return fail(absl::StrCat(
        "the token expired at ",
        absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::FromUnixSeconds(jwt->exp),
                         absl::UTCTimeZone()),
        "; the kubelet replaces it well before then, so check that the file is the projected "
        "volume's (not a copy) and that the pod's service account token projection works"));
  }
  if (token.size() == content.size()) return content;
  return SecretString(std::string(token));
}

std::string FederatedTokenFile::Describe() const {
  return absl::StrCat("federated token file ", path_);
}

}  // namespace tokend
