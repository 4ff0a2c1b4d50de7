// FakeClock: time that moves only when a test says so. Thread-safe.
#ifndef TOKEND_TESTS_TESTING_FAKE_CLOCK_H_
#define TOKEND_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/clock.h"

namespace tokend {
namespace testing {

class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1800000000)) : now_(start) {}
  absl::Time TimeNow() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_FAKE_CLOCK_H_
