#include "service/adapters/secret_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <iterator>
#include <memory>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/logging.h"

namespace tokend {
namespace {

constexpr char kData[] = "..data";
constexpr int kMaxDebounceFactor = 10;  // Events are gathered for at most this many debounces.
constexpr absl::Duration kLongest = absl::Hours(24 * 365);  // Longer durations are cut to this.

// The events that may change what FileSecretSource loads. In `dir`: credential folders (or
// links to them) added, removed, renamed or made readable, and `dir`/..data replaced when `dir`
// is itself a volume. In a folder, also files written. IN_ONLYDIR: never watch a file.
constexpr uint32_t kRootMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                               IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint32_t kFolderMask = kRootMask | IN_CLOSE_WRITE;

// The OS's description of `err`, lowercase ("permission denied").
std::string ErrnoText(int err) {
  return absl::AsciiStrToLower(std::generic_category().message(err));
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// The names in the folder `path` that do not start with '.', sorted; none if it cannot be read.
std::set<std::string> VisibleNames(const std::string& path) {
  std::set<std::string> names;
  std::unique_ptr<DIR, DirCloser> dir(opendir(path.c_str()));
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] != '.') names.insert(entry->d_name);
  }
  return names;
}

// The target of the symlink `path`, or "" if there is none.
std::string ReadLink(const std::string& path) {
  char target[4096];
  const ssize_t n = readlink(path.c_str(), target, sizeof(target));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(target)) return "";
  return std::string(target, static_cast<size_t>(n));
}

// A cheap description of the tree under `dir` that changes whenever a credential may have: the
// ..data targets, or else the inode, mode, size and mtime of each file, and the folder names.
// Never the content of a file.
std::string Fingerprint(const std::string& dir) {
  std::string out = absl::StrCat("..data -> ", ReadLink(absl::StrCat(dir, "/", kData)), "\n");
  for (const std::string& name : VisibleNames(dir)) {
    const std::string folder = absl::StrCat(dir, "/", name);
    struct stat st;
    if (stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      absl::StrAppend(&out, name, " is not a folder\n");
      continue;
    }
    const std::string data = ReadLink(absl::StrCat(folder, "/", kData));
    if (!data.empty()) {
      absl::StrAppend(&out, name, "/..data -> ", data, "\n");
      continue;
    }
    absl::StrAppend(&out, name, "/\n");
    for (const std::string& key : VisibleNames(folder)) {
      absl::StrAppend(&out, name, "/", key);
      if (stat(absl::StrCat(folder, "/", key).c_str(), &st) == 0) {
        absl::StrAppend(&out, " ", st.st_ino, " ", st.st_mode, " ", st.st_size, " ",
                        st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
      }
      absl::StrAppend(&out, "\n");
    }
  }
  return out;
}

std::chrono::nanoseconds ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(std::min(d, kLongest));
}

}  // namespace

SecretWatcher::Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::unique_ptr<SecretWatcher>> SecretWatcher::Start(
    std::string dir, SecretWatcherOptions options, std::function<void()> on_change) {
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poll_interval must be positive");
  }
  if (options.debounce < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("debounce must not be negative");
  }
  if (!on_change) return absl::InvalidArgumentError("on_change is empty");
  const std::string quoted = absl::StrCat("secrets dir \"", absl::CHexEscape(dir), "\"");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(quoted + " does not exist");
    return absl::FailedPreconditionError(
        absl::StrCat(quoted, " cannot be read: ", ErrnoText(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(quoted + " is not a folder");

  Fd wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake_fd.get() < 0) {
    return absl::InternalError(absl::StrCat("cannot create an eventfd: ", ErrnoText(errno)));
  }
  Fd inotify_fd(options.use_inotify ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1);
  if (!options.use_inotify) {
    LogWarning(
        "inotify is turned off; credential changes are noticed by polling only",
        {{"secrets_dir", dir}, {"poll_interval", absl::FormatDuration(options.poll_interval)}});
  } else if (inotify_fd.get() < 0) {
    LogWarning("inotify is unavailable; credential changes are noticed by polling only",
               {{"secrets_dir", dir},
                {"error", ErrnoText(errno)},
                {"poll_interval", absl::FormatDuration(options.poll_interval)}});
  }
  std::unique_ptr<SecretWatcher> watcher(new SecretWatcher(
      std::move(dir), options, std::move(on_change), std::move(wake_fd), std::move(inotify_fd)));
  // Watches first, then the fingerprint: a change after either is noticed by the other.
  if (watcher->inotify_fd_.get() >= 0) watcher->SyncWatches();
  watcher->fingerprint_ = Fingerprint(watcher->dir_);
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  return watcher;
}

SecretWatcher::SecretWatcher(std::string dir, SecretWatcherOptions options,
                             std::function<void()> on_change, Fd wake_fd, Fd inotify_fd)
    : dir_(std::move(dir)),
      options_(options),
      on_change_(std::move(on_change)),
      wake_fd_(std::move(wake_fd)),
      inotify_fd_(std::move(inotify_fd)) {}

SecretWatcher::~SecretWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  while (write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  if (thread_.joinable()) thread_.join();
}

bool SecretWatcher::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void SecretWatcher::Run() {
  using std::chrono::steady_clock;
  const std::chrono::nanoseconds poll_interval = ToChrono(options_.poll_interval);
  const std::chrono::nanoseconds debounce = ToChrono(options_.debounce);
  SteadyTime next_poll = steady_clock::now() + poll_interval;
  bool warned_poll_failed = false;
  while (true) {
    SteadyTime wake_at = next_poll;
    if (first_event_.has_value()) {
      wake_at = std::min(
          {wake_at, last_event_ + debounce, *first_event_ + kMaxDebounceFactor * debounce});
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
        std::max(wake_at - steady_clock::now(), steady_clock::duration::zero()));
    const int timeout_ms = static_cast<int>(std::min<int64_t>(wait.count(), INT_MAX));
    // poll() skips an entry whose fd is -1 (no inotify).
    pollfd fds[2] = {{wake_fd_.get(), POLLIN, 0}, {inotify_fd_.get(), POLLIN, 0}};
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR && !warned_poll_failed) {
      warned_poll_failed = true;
      LogError("cannot wait for credential changes", {{"error", ErrnoText(errno)}});
    }
    if (Stopping()) return;
    if (ready > 0 && (fds[1].revents & POLLIN) != 0 && ReadEvents()) {
      last_event_ = steady_clock::now();
      if (!first_event_.has_value()) first_event_ = last_event_;
    }
    const SteadyTime now = steady_clock::now();
    bool notify = false;
    if (now >= next_poll) {
      next_poll = now + poll_interval;
      if (inotify_fd_.get() >= 0) SyncWatches();  // Repairs watches lost to a full queue.
      notify = Fingerprint(dir_) != fingerprint_;
    }
    if (first_event_.has_value() &&
        (now >= last_event_ + debounce || now >= *first_event_ + kMaxDebounceFactor * debounce)) {
      notify = true;
    }
    if (notify) {
      first_event_.reset();
      Notify();
    }
  }
}

void SecretWatcher::Notify() {
  fingerprint_ = Fingerprint(dir_);  // Before the call: a change after it is seen next time.
  if (Stopping()) return;
  on_change_();
}

bool SecretWatcher::ReadEvents() {
  alignas(inotify_event) char buffer[16 * 1024];
  bool changed = false;
  while (true) {
    const ssize_t n = read(inotify_fd_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return changed;  // EAGAIN: all events read.
    for (size_t offset = 0; offset + sizeof(inotify_event) <= static_cast<size_t>(n);) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      // `name` is NUL-terminated and padded with NULs.
      const std::string name = event->len > 0 ? std::string(event->name) : std::string();
      if (HandleEvent(event->wd, event->mask, name)) changed = true;
      offset += sizeof(inotify_event) + event->len;
    }
  }
}

bool SecretWatcher::HandleEvent(int wd, uint32_t mask, const std::string& name) {
  if ((mask & IN_Q_OVERFLOW) != 0) {  // Events were dropped: anything may have changed.
    SyncWatches();
    return true;
  }
  if ((mask & IN_IGNORED) != 0) {  // The watch is gone: its folder was removed or unwatched.
    if (wd == root_wd_) root_wd_ = -1;
    for (auto it = folder_wds_.begin(); it != folder_wds_.end();) {
      it = it->second == wd ? folder_wds_.erase(it) : std::next(it);
    }
    return true;
  }
  if (wd == root_wd_) {
    if (name.empty() || name == kData) {
      // `dir` was removed or moved (watch it again by path), or `dir` is itself a volume whose
      // ..data was replaced, so that each DIR/NAME link may now lead to another folder.
      if ((mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) != 0) {
        inotify_rm_watch(inotify_fd_.get(), root_wd_);  // EINVAL if the kernel dropped it already.
        root_wd_ = -1;
      }
      SyncWatches();
      return true;
    }
    if (name[0] == '.') return false;  // Not a credential (FileSecretSource skips it).
    if ((mask & (IN_DELETE | IN_MOVED_FROM)) != 0) UnwatchFolder(name);
    if ((mask & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)) != 0) WatchFolder(name);
    return true;
  }
  // In a credential folder: ..data replaced, a file written, or the folder itself gone. The
  // kubelet's own ..data_tmp and ..TIMESTAMP folders change nothing until ..data moves.
  return name.empty() || name == kData || name[0] != '.';
}

void SecretWatcher::SyncWatches() {
  if (root_wd_ < 0) {
    root_wd_ = inotify_add_watch(inotify_fd_.get(), dir_.c_str(), kRootMask);
    if (root_wd_ < 0) WarnWatchFailed(dir_, errno);
  }
  const std::set<std::string> names = VisibleNames(dir_);
  std::vector<std::string> gone;
  for (const auto& [name, wd] : folder_wds_) {
    if (names.count(name) == 0) gone.push_back(name);
  }
  for (const std::string& name : gone) UnwatchFolder(name);
  for (const std::string& name : names) WatchFolder(name);
}

bool SecretWatcher::WatchFolder(const std::string& name) {
  const std::string path = absl::StrCat(dir_, "/", name);
  // For a folder already watched this returns its watch; for a link retargeted, a new one.
  const int wd = inotify_add_watch(inotify_fd_.get(), path.c_str(), kFolderMask);
  if (wd < 0) {
    const int err = errno;
    if (err != ENOENT && err != ENOTDIR) WarnWatchFailed(path, err);  // Else not a folder now.
    UnwatchFolder(name);
    return false;
  }
  auto [it, inserted] = folder_wds_.try_emplace(name, wd);
  if (!inserted && it->second != wd) {
    UnwatchFolder(name);
    folder_wds_[name] = wd;
  }
  return true;
}

void SecretWatcher::UnwatchFolder(const std::string& name) {
  auto it = folder_wds_.find(name);
  if (it == folder_wds_.end()) return;
  const int wd = it->second;
  folder_wds_.erase(it);
  if (wd == root_wd_) return;
  for (const auto& [other, other_wd] : folder_wds_) {
    if (other_wd == wd) return;  // Another name leads to the same folder.
  }
  inotify_rm_watch(inotify_fd_.get(), wd);  // EINVAL if the kernel dropped it already.
}

void SecretWatcher::WarnWatchFailed(const std::string& path, int err) {
  if (warned_watch_failed_) return;
  warned_watch_failed_ = true;
  LogWarning(err == ENOSPC ? "inotify watch limit reached (fs.inotify.max_user_watches); "
                             "credential changes there are noticed by polling only"
                           : "cannot watch a folder with inotify; credential changes there are "
                             "noticed by polling only",
             {{"folder", path},
              {"error", ErrnoText(err)},
              {"poll_interval", absl::FormatDuration(options_.poll_interval)}});
}

}  // namespace tokend
