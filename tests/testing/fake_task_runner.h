// FakeTaskRunner: runs posted tasks only when the test asks, on the test's thread, with timed
// tasks due by a FakeClock's steady clock (SteadyNow; FakeClock::JumpWall does not move them).
// Deterministic: no threads, no sleeping.
#ifndef TOKEND_TESTS_TESTING_FAKE_TASK_RUNNER_H_
#define TOKEND_TESTS_TESTING_FAKE_TASK_RUNNER_H_

#include <deque>
#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "service/core/task_runner.h"
#include "tests/testing/fake_clock.h"

namespace tokend {
namespace testing {

class FakeTaskRunner : public TaskRunner {
 public:
  explicit FakeTaskRunner(FakeClock& clock) : clock_(clock) {}

  void Post(Task task) override {
    absl::MutexLock lock(&mu_);
    ready_.push_back(std::move(task));
  }
  void PostAt(absl::Time when, Task task) override {
    absl::MutexLock lock(&mu_);
    timed_.emplace(when, std::move(task));
  }

  // Runs ready tasks, and timed tasks already due, until none is left. Returns how many ran.
  int RunUntilIdle() {
    int ran = 0;
    while (true) {
      Task task;
      {
        absl::MutexLock lock(&mu_);
        absl::Time now = clock_.SteadyNow();
        while (!timed_.empty() && timed_.begin()->first <= now) {
          ready_.push_back(std::move(timed_.begin()->second));
          timed_.erase(timed_.begin());
        }
        if (ready_.empty()) return ran;
        task = std::move(ready_.front());
        ready_.pop_front();
      }
      task();
      ++ran;
    }
  }

  // Advances the clock (both its times) by `d` one due timer at a time, running what becomes
  // due on the way.
  void AdvanceAndRun(absl::Duration d) {
    absl::Time end = clock_.SteadyNow() + d;
    RunUntilIdle();
    while (true) {
      absl::Time next;
      {
        absl::MutexLock lock(&mu_);
        if (timed_.empty() || timed_.begin()->first > end) break;
        next = timed_.begin()->first;
      }
      absl::Time now = clock_.SteadyNow();
      if (next > now) clock_.Advance(next - now);
      RunUntilIdle();
    }
    absl::Time now = clock_.SteadyNow();
    if (end > now) clock_.Advance(end - now);
    RunUntilIdle();
  }

  // When the next timed task is due (steady time: compare with SteadyNow()), or
  // InfiniteFuture() if none.
  absl::Time NextDue() {
    absl::MutexLock lock(&mu_);
    return timed_.empty() ? absl::InfiniteFuture() : timed_.begin()->first;
  }

  size_t pending() {
    absl::MutexLock lock(&mu_);
    return ready_.size() + timed_.size();
  }

 private:
  FakeClock& clock_;
  absl::Mutex mu_;
  std::deque<Task> ready_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, Task> timed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_FAKE_TASK_RUNNER_H_
