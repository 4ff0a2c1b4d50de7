#include "tests/testing/secrets_dir.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/common/status_macros.h"

namespace tokend {
namespace testing {
namespace {

constexpr char kData[] = "..data";
constexpr char kDataTmp[] = "..data_tmp";

// INTERNAL "<what> <path>: <errno text>", for the errno of the call that just failed.
absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  const int err = errno;
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::generic_category().message(err)));
}

absl::Status CheckKeys(const SecretFiles& files) {
  for (const auto& [key, content] : files) {
    if (key.empty() || absl::StrContains(key, '/') || absl::StartsWith(key, "..")) {
      return absl::InvalidArgumentError(absl::StrCat("bad key \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status MakeFolder(const std::string& folder) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", folder, ": ", ec.message()));
  return absl::OkStatus();
}

// Reads every file of the (timestamped) folder `dir`.
absl::StatusOr<SecretFiles> ReadFiles(const std::string& dir) {
  SecretFiles files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) return absl::InternalError(absl::StrCat("cannot read ", it->path().string()));
    files[it->path().filename().string()].assign(std::istreambuf_iterator<char>(in), {});
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  return files;
}

// Creates FOLDER/..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN holding `files`; returns its name.
absl::StatusOr<std::string> WriteTimestampedFolder(const std::string& folder,
                                                   const SecretFiles& files) {
  // As in the kubelet, the time only makes the name unique and readable.
  const absl::Time now = absl::Now();
  const std::string stamp = absl::FormatTime("..%Y_%m_%d_%H_%M_%S.", now, absl::UTCTimeZone());
  int64_t nanos = absl::ToUnixNanos(now) % 1000000000;
  std::string name;
  for (;; ++nanos) {
    name = absl::StrCat(stamp, absl::StrFormat("%09d", nanos % 1000000000));
    if (mkdir(absl::StrCat(folder, "/", name).c_str(), 0755) == 0) break;
    if (errno != EEXIST) return ErrnoError("cannot create", absl::StrCat(folder, "/", name));
  }
  for (const auto& [key, content] : files) {
    TOKEND_RETURN_IF_ERROR(WriteFile(absl::StrCat(folder, "/", name, "/", key), content));
  }
  return name;
}

// Points FOLDER/..data at `target` atomically: a new ..data_tmp link renamed over ..data.
absl::Status SwapData(const std::string& folder, const std::string& target) {
  const std::string tmp = absl::StrCat(folder, "/", kDataTmp);
  unlink(tmp.c_str());  // The leftover of an interrupted swap, if any.
  if (symlink(target.c_str(), tmp.c_str()) != 0) return ErrnoError("cannot create", tmp);
  const std::string data = absl::StrCat(folder, "/", kData);
  if (rename(tmp.c_str(), data.c_str()) != 0) return ErrnoError("cannot rename over", data);
  return absl::OkStatus();
}

// Creates the missing visible links FOLDER/KEY -> ..data/KEY.
absl::Status AddKeyLinks(const std::string& folder, const SecretFiles& files) {
  for (const auto& [key, content] : files) {
    const std::string link = absl::StrCat(folder, "/", key);
    struct stat st;
    if (lstat(link.c_str(), &st) == 0) continue;
    if (symlink(absl::StrCat(kData, "/", key).c_str(), link.c_str()) != 0) {
      return ErrnoError("cannot create", link);
    }
  }
  return absl::OkStatus();
}

// The kubelet's update of a Secret volume (see the header); `before_swap`, if set, runs once the
// new version's files are written and before ..data points at them.
absl::Status UpdateVolume(
    const std::string& folder, const SecretFiles& files, bool skip_unchanged,
    const std::function<absl::Status(const std::string& version_folder)>& before_swap) {
  TOKEND_RETURN_IF_ERROR(CheckKeys(files));
  TOKEND_ASSIGN_OR_RETURN(std::string old_target, DataTarget(folder));
  const std::string old_folder = absl::StrCat(folder, "/", old_target);
  TOKEND_ASSIGN_OR_RETURN(SecretFiles old_files, ReadFiles(old_folder));
  if (skip_unchanged && old_files == files) return absl::OkStatus();  // As the kubelet does.
  TOKEND_ASSIGN_OR_RETURN(std::string target, WriteTimestampedFolder(folder, files));
  if (before_swap) TOKEND_RETURN_IF_ERROR(before_swap(absl::StrCat(folder, "/", target)));
  TOKEND_RETURN_IF_ERROR(SwapData(folder, target));
  TOKEND_RETURN_IF_ERROR(AddKeyLinks(folder, files));
  for (const auto& [key, content] : old_files) {
    const std::string link = absl::StrCat(folder, "/", key);
    if (files.count(key) == 0 && unlink(link.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("cannot remove", link);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(old_folder, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot remove ", old_folder, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

TempDir::TempDir() {
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base.push_back('/');
  for (const std::string& parent : {base, std::string("/tmp/")}) {
    std::string pattern = parent + "tokend_test.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
      return;
    }
  }
  std::perror("TempDir: mkdtemp");
  std::abort();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

absl::Status WriteSecretVolume(const std::string& folder, const SecretFiles& files) {
  TOKEND_RETURN_IF_ERROR(CheckKeys(files));
  TOKEND_RETURN_IF_ERROR(MakeFolder(folder));
  struct stat st;
  if (lstat(absl::StrCat(folder, "/", kData).c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(folder, " already has ", kData));
  }
  TOKEND_ASSIGN_OR_RETURN(std::string target, WriteTimestampedFolder(folder, files));
  TOKEND_RETURN_IF_ERROR(SwapData(folder, target));
  return AddKeyLinks(folder, files);
}

absl::Status UpdateSecretVolume(const std::string& folder, const SecretFiles& files) {
  return UpdateVolume(folder, files, /*skip_unchanged=*/true, nullptr);
}

absl::StatusOr<std::string> DataTarget(const std::string& folder) {
  const std::string data = absl::StrCat(folder, "/", kData);
  char target[4096];
  const ssize_t n = readlink(data.c_str(), target, sizeof(target));
  if (n < 0 && errno == ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(folder, " has no ", kData));
  }
  if (n < 0 || static_cast<size_t>(n) >= sizeof(target)) return ErrnoError("cannot read", data);
  return std::string(target, static_cast<size_t>(n));
}

absl::Status MakeDataDangling(const std::string& folder) {
  TOKEND_ASSIGN_OR_RETURN(std::string target, DataTarget(folder));
  std::error_code ec;
  std::filesystem::remove_all(absl::StrCat(folder, "/", target), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", target, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status WritePlainFiles(const std::string& folder, const SecretFiles& files) {
  TOKEND_RETURN_IF_ERROR(CheckKeys(files));
  for (const auto& [key, content] : files) {
    const std::string path = absl::StrCat(folder, "/", key);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot remove", path);
    TOKEND_RETURN_IF_ERROR(WriteFile(path, content));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view content) {
  TOKEND_RETURN_IF_ERROR(MakeFolder(std::filesystem::path(path).parent_path().string()));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return ErrnoError("cannot open", path);
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (std::fclose(f) != 0 || !written) return ErrnoError("cannot write", path);
  return absl::OkStatus();
}

absl::Status UpdateSecretVolumeWith(
    const std::string& folder, const SecretFiles& files,
    const std::function<absl::Status(const std::string& version_folder)>& before_swap) {
  return UpdateVolume(folder, files, /*skip_unchanged=*/false, before_swap);
}

}  // namespace testing
}  // namespace tokend
