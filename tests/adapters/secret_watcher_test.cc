#include "service/adapters/secret_watcher.h"

#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/adapters/file_secret_source.h"
#include "service/common/logging.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::SecretFiles;
using testing::StatusIs;
using testing::TempDir;
using testing::UpdateSecretVolume;
using testing::WriteFile;
using testing::WritePlainFiles;
using testing::WriteSecretVolume;

constexpr char kTenant[] = "8f2c1e4a-1b2c-4d3e-9f00-123456789abc";
constexpr char kClientId[] = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr char kSecretOne[] = "s3cr3t~One.Zx9_qL";  // Must never appear in a log.
constexpr char kSecretTwo[] = "s3cr3t~Two.Zx9_qL";  // Must never appear in a log.
constexpr absl::Duration kWait = absl::Seconds(5);  // Bound on waiting for a notification.

SecretFiles Files(const std::string& secret) {
  return {{"tenant-id", kTenant}, {"client-id", kClientId}, {"client-secret", secret}};
}

// What tokend loads from `dir` now: "NAME@VERSION" per usable credential and "NAME!" per broken
// one, sorted by name.
std::string LoadedVersions(const std::string& dir) {
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir).Load();
  if (!snapshot.ok()) return std::string(snapshot.status().message());
  std::vector<std::string> parts;
  for (const auto& [name, credential] : snapshot->credentials) {
    parts.push_back(absl::StrCat(name, "@", credential->version));
  }
  for (const auto& [name, status] : snapshot->failures) parts.push_back(absl::StrCat(name, "!"));
  return absl::StrJoin(parts, " ");
}

// Stands in for tokend: each call of on_change reloads the secrets dir and records the result.
class Reloader {
 public:
  explicit Reloader(std::string dir) : dir_(std::move(dir)) {}

  // The on_change callback. This object must outlive the watcher it is given to.
  std::function<void()> OnChange() {
    return [this] {
      std::string loaded = LoadedVersions(dir_);
      absl::MutexLock lock(&mu_);
      ++calls_;
      last_loaded_ = std::move(loaded);
    };
  }

  // Waits up to kWait for the latest reload to have loaded `expected`. True iff it did.
  bool WaitUntilLoaded(const std::string& expected) {
    absl::MutexLock lock(&mu_);
    auto loaded = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return last_loaded_ == expected; };
    return mu_.AwaitWithTimeout(absl::Condition(&loaded), kWait);
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::string last_loaded() const {
    absl::MutexLock lock(&mu_);
    return last_loaded_;
  }

 private:
  const std::string dir_;
  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_loaded_ ABSL_GUARDED_BY(mu_) = "(no call)";
};

class SecretWatcherTest : public ::testing::Test {
 protected:
  // Options under which only inotify can notice a change within a test's waits.
  static SecretWatcherOptions InotifyOnly() {
    SecretWatcherOptions options;
    options.poll_interval = absl::Hours(1);
    return options;
  }

  // Starts watching dir_, reporting to reloader_. nullptr (and a test failure) on error.
  std::unique_ptr<SecretWatcher> StartWatcher(SecretWatcherOptions options) {
    absl::StatusOr<std::unique_ptr<SecretWatcher>> watcher =
        SecretWatcher::Start(dir_.path(), options, reloader_.OnChange());
    EXPECT_THAT(watcher, IsOk());
    return watcher.ok() ? *std::move(watcher) : nullptr;
  }

  std::string Path(const std::string& name) const { return absl::StrCat(dir_.path(), "/", name); }

  // Points dir_/..data at a new folder `version` holding mde/{tenant-id,client-id,client-secret},
  // with dir_/mde -> ..data/mde: dir_ itself is then a volume, as when Secrets are projected into
  // one mount with `items` paths such as mde/client-secret.
  void SwapRootVolume(const std::string& version, const std::string& secret) {
    ASSERT_THAT(WritePlainFiles(Path(version + "/mde"), Files(secret)), IsOk());
    ASSERT_EQ(symlink(version.c_str(), Path("..data_tmp").c_str()), 0);
    ASSERT_EQ(rename(Path("..data_tmp").c_str(), Path("..data").c_str()), 0);
    if (access(Path("mde").c_str(), F_OK) != 0) {
      ASSERT_EQ(symlink("..data/mde", Path("mde").c_str()), 0);
    }
  }

  TempDir dir_;
  Reloader reloader_{dir_.path()};
};

TEST_F(SecretWatcherTest, KubernetesSecretUpdateIsNoticed) {
  ASSERT_THAT(WriteSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);
  const std::string before = LoadedVersions(dir_.path());

  ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(kSecretTwo)), IsOk());

  const std::string expected = LoadedVersions(dir_.path());
  ASSERT_NE(expected, before);
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, FolderAddedAfterStartIsNoticedAndWatched) {
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);

  ASSERT_THAT(WriteSecretVolume(Path("late"), Files(kSecretOne)), IsOk());
  const std::string added = LoadedVersions(dir_.path());
  ASSERT_THAT(added, HasSubstr("late@.."));
  EXPECT_TRUE(reloader_.WaitUntilLoaded(added)) << "last loaded: " << reloader_.last_loaded();

  ASSERT_THAT(UpdateSecretVolume(Path("late"), Files(kSecretTwo)), IsOk());
  const std::string updated = LoadedVersions(dir_.path());
  ASSERT_NE(updated, added);
  EXPECT_TRUE(reloader_.WaitUntilLoaded(updated)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, FolderRemovedIsNoticed) {
  ASSERT_THAT(WriteSecretVolume(Path("gone"), Files(kSecretOne)), IsOk());
  ASSERT_THAT(WriteSecretVolume(Path("kept"), Files(kSecretOne)), IsOk());
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);

  std::filesystem::remove_all(Path("gone"));

  const std::string expected = LoadedVersions(dir_.path());
  ASSERT_THAT(expected, Not(HasSubstr("gone")));
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, PlainFileReplacedIsNoticed) {
  ASSERT_THAT(WritePlainFiles(Path("plain"), Files(kSecretOne)), IsOk());
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);
  const std::string before = LoadedVersions(dir_.path());

  ASSERT_THAT(WritePlainFiles(Path("plain"), {{"client-secret", kSecretTwo}}), IsOk());

  const std::string expected = LoadedVersions(dir_.path());
  ASSERT_NE(expected, before);
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, PlainFileRewrittenInPlaceIsNoticed) {
  ASSERT_THAT(WritePlainFiles(Path("plain"), Files(kSecretOne)), IsOk());
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);
  const std::string before = LoadedVersions(dir_.path());

  ASSERT_THAT(WriteFile(Path("plain/client-secret"), kSecretTwo), IsOk());  // Same inode.

  const std::string expected = LoadedVersions(dir_.path());
  ASSERT_NE(expected, before);
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, SecretsDirThatIsAVolumeIsFollowedAcrossSwaps) {
  SwapRootVolume("..v1", kSecretOne);
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);

  SwapRootVolume("..v2", kSecretTwo);
  std::filesystem::remove_all(Path("..v1"));
  const std::string swapped = LoadedVersions(dir_.path());
  ASSERT_THAT(swapped, HasSubstr("mde@"));
  EXPECT_TRUE(reloader_.WaitUntilLoaded(swapped)) << "last loaded: " << reloader_.last_loaded();

  // Noticed only if the watch moved to the folder that dir/mde now leads to.
  ASSERT_THAT(WriteFile(Path("..v2/mde/client-secret"), kSecretOne), IsOk());
  const std::string rewritten = LoadedVersions(dir_.path());
  ASSERT_NE(rewritten, swapped);
  EXPECT_TRUE(reloader_.WaitUntilLoaded(rewritten)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, BurstOfUpdatesMakesFewCallsAndOneAfterTheLast) {
  ASSERT_THAT(WriteSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(InotifyOnly());
  ASSERT_NE(watcher, nullptr);

  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(absl::StrCat(kSecretTwo, i))), IsOk());
  }

  const std::string expected = LoadedVersions(dir_.path());
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
  EXPECT_GE(reloader_.calls(), 1);
  EXPECT_LE(reloader_.calls(), 3);
}

TEST_F(SecretWatcherTest, PollingAloneNoticesDataSwapAndWarnsOnce) {
  std::ostringstream log;
  SetLogOutput(&log);
  ASSERT_THAT(WriteSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  SecretWatcherOptions options;
  options.use_inotify = false;
  options.poll_interval = absl::Milliseconds(50);
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(options);
  ASSERT_NE(watcher, nullptr);

  ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(kSecretTwo)), IsOk());

  const std::string expected = LoadedVersions(dir_.path());
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
  watcher.reset();
  SetLogOutput(nullptr);
  const std::string logged = log.str();
  EXPECT_THAT(logged, HasSubstr("polling only"));
  EXPECT_EQ(logged.find("polling only"), logged.rfind("polling only")) << logged;
  EXPECT_THAT(logged, Not(HasSubstr(kSecretOne)));
  EXPECT_THAT(logged, Not(HasSubstr(kSecretTwo)));
}

TEST_F(SecretWatcherTest, PollingAloneNoticesAddedFolder) {
  SecretWatcherOptions options;
  options.use_inotify = false;
  options.poll_interval = absl::Milliseconds(50);
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(options);
  ASSERT_NE(watcher, nullptr);

  ASSERT_THAT(WritePlainFiles(Path("plain"), Files(kSecretOne)), IsOk());

  const std::string expected = LoadedVersions(dir_.path());
  ASSERT_THAT(expected, HasSubstr("plain@"));
  EXPECT_TRUE(reloader_.WaitUntilLoaded(expected)) << "last loaded: " << reloader_.last_loaded();
}

TEST_F(SecretWatcherTest, NoCallAfterDestruction) {
  ASSERT_THAT(WriteSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  auto calls = std::make_shared<std::atomic<int>>(0);
  SecretWatcherOptions options;
  options.poll_interval = absl::Milliseconds(1);
  options.debounce = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<SecretWatcher>> watcher =
      SecretWatcher::Start(dir_.path(), options, [calls] { ++*calls; });
  ASSERT_THAT(watcher, IsOk());
  ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(kSecretTwo)), IsOk());  // Calls in flight.

  watcher->reset();

  const int calls_at_destruction = *calls;
  EXPECT_EQ(calls.use_count(), 1);  // The watcher kept no copy of on_change to call later.
  ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  EXPECT_EQ(*calls, calls_at_destruction);
}

TEST_F(SecretWatcherTest, DestructionIsPromptWhileWaitingOnLongDeadlines) {
  ASSERT_THAT(WriteSecretVolume(Path("mde"), Files(kSecretOne)), IsOk());
  SecretWatcherOptions options;
  options.poll_interval = absl::Hours(1);
  options.debounce = absl::Hours(1);
  std::unique_ptr<SecretWatcher> watcher = StartWatcher(options);
  ASSERT_NE(watcher, nullptr);
  ASSERT_THAT(UpdateSecretVolume(Path("mde"), Files(kSecretTwo)), IsOk());  // Debounce pending.

  const absl::Time start = absl::Now();
  watcher.reset();

  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(reloader_.calls(), 0);
}

TEST_F(SecretWatcherTest, StartOnMissingDirIsNotFound) {
  EXPECT_THAT(SecretWatcher::Start(Path("missing"), {}, [] {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
}

TEST_F(SecretWatcherTest, StartOnFileIsFailedPrecondition) {
  ASSERT_THAT(WriteFile(Path("file"), "x"), IsOk());
  EXPECT_THAT(SecretWatcher::Start(Path("file"), {}, [] {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a folder")));
}

TEST_F(SecretWatcherTest, StartRejectsBadOptions) {
  SecretWatcherOptions no_interval;
  no_interval.poll_interval = absl::ZeroDuration();
  EXPECT_THAT(SecretWatcher::Start(dir_.path(), no_interval, [] {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("poll_interval")));
  SecretWatcherOptions negative_debounce;
  negative_debounce.debounce = absl::Milliseconds(-1);
  EXPECT_THAT(SecretWatcher::Start(dir_.path(), negative_debounce, [] {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("debounce")));
  EXPECT_THAT(SecretWatcher::Start(dir_.path(), {}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("on_change")));
}

}  // namespace
}  // namespace tokend
