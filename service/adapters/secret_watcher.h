// SecretWatcher notices changes to the credentials under the --secrets-dir folder, so that tokend
// reloads them live (SPEC "Credentials on disk"; ENTRA.md section 7):
//
//   DIR/NAME/..data -> ..2026_11_29_04_50_00.123456789   a Kubernetes Secret volume: the kubelet
//                                                        rename()s ..data_tmp over ..data
//   DIR/NAME/client-id                                   or plain files, written in place
//
// It watches the folders (never the files: the inode behind a symlink is replaced) with inotify,
// and polls a cheap fingerprint of the tree as a fallback: the ..data links, the names, inodes,
// sizes and mtimes of plain files, and the credential folder names. It never reads the content of
// a file, so it neither holds nor logs a secret.
//
// A change is reported by calling on_change(), with no detail: the caller reloads everything (via
// FileSecretSource) and compares versions. A spurious extra call is therefore possible and
// harmless; a change is never missed while the watcher runs.
//
// Thread-safe: the object has no methods but its destructor. It runs one thread of its own,
// which makes every call of on_change().
#ifndef TOKEND_SERVICE_ADAPTERS_SECRET_WATCHER_H_
#define TOKEND_SERVICE_ADAPTERS_SECRET_WATCHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokend {

struct SecretWatcherOptions {
  // How often the tree's fingerprint is compared with the one taken at the last call of
  // on_change(): the fallback when inotify is unavailable or misses something (a full event
  // queue, the watch limit, a file kept open while written). Must be positive.
  absl::Duration poll_interval = absl::Seconds(10);
  // Events are gathered until none has come for `debounce` (but for at most 10 x `debounce`
  // after the first one), then on_change() is called once: a burst of events makes one call.
  // Must not be negative.
  absl::Duration debounce = absl::Milliseconds(100);
  // False: poll only, as when inotify_init1() fails (for tests of polling).
  bool use_inotify = true;
};

class SecretWatcher {
 public:
  // Starts watching `dir` and returns the watcher. on_change() is then called, on the watcher's
  // own thread and never concurrently with itself, within about `debounce` (inotify) or
  // `poll_interval` (polling) of any change under `dir` made after Start() returns: a credential
  // folder added to or removed from `dir` (later folders are watched too), the ..data symlink of
  // a folder replaced, a file of a folder written, created, removed, renamed or chmod-ed.
  // So that nothing is missed, load the credentials after Start(), not before.
  // NOT_FOUND if `dir` does not exist; FAILED_PRECONDITION if it is not a folder;
  // INVALID_ARGUMENT for bad `options`; INTERNAL if no thread wake-up fd can be made. When
  // inotify cannot be used, logs a warning once and polls only.
  // on_change must not destroy the watcher.
  static absl::StatusOr<std::unique_ptr<SecretWatcher>> Start(std::string dir,
                                                              SecretWatcherOptions options,
                                                              std::function<void()> on_change);

  // Stops the thread promptly (waiting only for an on_change() call in progress) and joins it.
  // After it returns, on_change() is never called again.
  ~SecretWatcher();

  SecretWatcher(const SecretWatcher&) = delete;
  SecretWatcher& operator=(const SecretWatcher&) = delete;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Owns a file descriptor; closes it on destruction. -1 when empty.
  class Fd {
   public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd& operator=(Fd&&) = delete;
    ~Fd();
    int get() const { return fd_; }

   private:
    int fd_;
  };

  SecretWatcher(std::string dir, SecretWatcherOptions options, std::function<void()> on_change,
                Fd wake_fd, Fd inotify_fd);

  // The thread's loop: waits on wake_fd_, inotify_fd_ and the next deadline; returns once stopped.
  void Run();
  // Reads all queued inotify events. Returns true iff one of them may be a change.
  bool ReadEvents();
  // Handles one event. Returns true iff it may be a change.
  bool HandleEvent(int wd, uint32_t mask, const std::string& name);
  // Watches `dir_` and every credential folder in it, drops the watches of folders gone.
  void SyncWatches();
  // Watches the folder `dir_`/`name` (if it is one). Returns true iff it is watched.
  bool WatchFolder(const std::string& name);
  // Stops watching the folder `name`, unless another name leads to the same folder.
  void UnwatchFolder(const std::string& name);
  // Logs the failure of inotify_add_watch() as a warning, once per watcher.
  void WarnWatchFailed(const std::string& path, int err);
  // Records the fingerprint, then calls on_change_() unless stopping.
  void Notify();
  // Returns true iff the destructor has begun.
  bool Stopping() const;

  // Constant after construction.
  const std::string dir_;
  const SecretWatcherOptions options_;
  const std::function<void()> on_change_;
  const Fd wake_fd_;     // An eventfd written by the destructor to wake the thread.
  const Fd inotify_fd_;  // -1 when polling only.

  // State below is used by the watcher thread only (and by Start() before the thread starts).
  int root_wd_ = -1;                       // The watch of dir_; -1 when there is none.
  std::map<std::string, int> folder_wds_;  // Credential folder name -> its watch.
  std::string fingerprint_;                // Taken before the last call of on_change_.
  std::optional<SteadyTime> first_event_;  // The first event not yet reported, if any.
  SteadyTime last_event_;                  // The latest event; meaningful with first_event_.
  bool warned_watch_failed_ = false;       // WarnWatchFailed() has logged.

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // Set by the destructor.

  std::thread thread_;  // Runs Run(); started last, joined by the destructor.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_SECRET_WATCHER_H_
