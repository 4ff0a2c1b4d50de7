// Test helpers that lay out a folder the way the kubelet's atomic writer mounts a Secret
// (kubernetes pkg/volume/util/atomic_writer.go):
//
//   FOLDER/..2026_11_29_04_50_00.123456789/KEY   the real files of one version
//   FOLDER/..data -> ..2026_11_29_04_50_00.123456789
//   FOLDER/KEY    -> ..data/KEY
//
// Every symlink is relative. An update writes a new timestamped folder, points a new symlink
// ..data_tmp at it, rename()s that over ..data (the atomic step), adds and removes the visible
// KEY links, and deletes the old timestamped folder. Functions return a status rather than
// failing the test: ASSERT_THAT(WriteSecretVolume(dir.path() + "/mde", files), IsOk()).
// Keys are flat (no '/'), as a Secret's keys are. Not thread-safe on the same folder.
#ifndef TOKEND_TESTS_TESTING_SECRETS_DIR_H_
#define TOKEND_TESTS_TESTING_SECRETS_DIR_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {
namespace testing {

// The content of a Secret volume: key (file name) -> file content.
using SecretFiles = std::map<std::string, std::string>;

// A fresh, empty folder under ::testing::TempDir() (or /tmp), removed with everything in it when
// the TempDir is destroyed. Aborts the program if no folder can be created.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The folder's absolute path, without a trailing slash.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Mounts `files` at `folder` as the kubelet does the first time: creates `folder` (and its
// parents) if needed, then the timestamped folder, ..data and one KEY link per key.
// ALREADY_EXISTS if `folder`/..data exists; INVALID_ARGUMENT for a key that is empty, contains
// '/', or starts with "..".
absl::Status WriteSecretVolume(const std::string& folder, const SecretFiles& files);

// Replaces the content of a volume made by WriteSecretVolume() with `files`, as the kubelet does
// on a Secret update (see the file comment): afterwards only the keys of `files` are visible.
// Like the kubelet, does nothing if `files` equals the current content. FAILED_PRECONDITION if
// `folder`/..data does not exist.
absl::Status UpdateSecretVolume(const std::string& folder, const SecretFiles& files);

// The name ..data points to (e.g. "..2026_11_29_04_50_00.123456789"): the volume's version.
absl::StatusOr<std::string> DataTarget(const std::string& folder);

// Deletes the timestamped folder that `folder`/..data points to, leaving ..data and the KEY links
// dangling.
absl::Status MakeDataDangling(const std::string& folder);

// Writes `files` as plain regular files directly in `folder` (no ..data, no symlinks), creating
// `folder` and its parents if needed, replacing files or symlinks of the same name.
absl::Status WritePlainFiles(const std::string& folder, const SecretFiles& files);

// Writes `content` to the file `path` (following a symlink there), creating parent folders as
// needed.
absl::Status WriteFile(const std::string& path, absl::string_view content);

// Like UpdateSecretVolume(), but calls `before_swap` with the path of the new timestamped folder
// once its files are written and before ..data points at it, e.g. to make one of its files
// unreadable as a broken writer might. An error from `before_swap` is returned at once.
absl::Status UpdateSecretVolumeWith(
    const std::string& folder, const SecretFiles& files,
    const std::function<absl::Status(const std::string& version_folder)>& before_swap);

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_SECRETS_DIR_H_
