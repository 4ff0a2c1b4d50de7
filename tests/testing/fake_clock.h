// FakeClock: time that moves only when a test says so. Thread-safe.
//
// Both clocks of Clock: Advance() moves the wall clock and the steady clock together (time
// passes); JumpWall() and SetWall() move the wall clock alone (someone set the system time).
// The steady clock starts on its own epoch, far from the wall clock's, so that code mixing the
// two shows in tests.
#ifndef TOKEND_TESTS_TESTING_FAKE_CLOCK_H_
#define TOKEND_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/clock.h"

namespace tokend {
namespace testing {

class FakeClock : public Clock {
 public:
  // Where SteadyNow() starts: an arbitrary epoch, like a real monotonic clock's (boot).
  static constexpr absl::Time kSteadyStart = absl::FromUnixSeconds(1000 * 3600);

  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1800000000))
      : wall_(start), steady_(kSteadyStart) {}
  absl::Time TimeNow() override {
    absl::MutexLock lock(&mu_);
    return wall_;
  }
  absl::Time SteadyNow() override {
    absl::MutexLock lock(&mu_);
    return steady_;
  }
  // Time passes: both clocks move by `d` (>= 0).
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    wall_ += d;
    steady_ += d;
  }
  // The wall clock jumps by `d` (either way); the steady clock does not move.
  void JumpWall(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    wall_ += d;
  }
  // The wall clock is set to `t`; the steady clock does not move.
  void SetWall(absl::Time t) {
    absl::MutexLock lock(&mu_);
    wall_ = t;
  }

 private:
  absl::Mutex mu_;
  absl::Time wall_ ABSL_GUARDED_BY(mu_);
  absl::Time steady_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_FAKE_CLOCK_H_
