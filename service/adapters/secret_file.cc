#include "service/adapters/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tokend {
namespace {

std::string ErrnoText(int err) {
  return absl::AsciiStrToLower(std::generic_category().message(err));
}

struct FdCloser {
  ~FdCloser() { close(fd); }
  int fd;
};

}  // namespace

absl::StatusOr<SecretString> ReadSecretFile(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError("does not exist");
    return absl::FailedPreconditionError(absl::StrCat("cannot be opened: ", ErrnoText(errno)));
  }
  FdCloser closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot be read: ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) return absl::FailedPreconditionError("is not a regular file");
  std::string buffer(max_bytes + 1, '\0');
  size_t size = 0;
  while (size < buffer.size()) {
    ssize_t n = read(fd, &buffer[size], buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      SecretString wiped(std::move(buffer));
      return absl::FailedPreconditionError(absl::StrCat("cannot be read: ", ErrnoText(errno)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  buffer.resize(size);
  SecretString content(std::move(buffer));
  if (size > max_bytes) {
    return absl::FailedPreconditionError(absl::StrCat("is larger than ", max_bytes, " bytes"));
  }
  return content;
}

}  // namespace tokend
