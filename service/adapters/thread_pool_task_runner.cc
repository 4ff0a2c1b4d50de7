#include "service/adapters/thread_pool_task_runner.h"

#include <chrono>
#include <mutex>
#include <utility>

namespace tokend {
namespace {

// absl::Mutex under the names std::unique_lock and std::condition_variable_any call.
struct StdLockable {
  absl::Mutex& mu;
  void lock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu.Lock(); }
  void unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu.Unlock(); }
};

}  // namespace

ThreadPoolTaskRunner::ThreadPoolTaskRunner(Clock& clock, int threads) : clock_(clock) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadPoolTaskRunner::~ThreadPoolTaskRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ThreadPoolTaskRunner::Post(Task task) {
  {
    absl::MutexLock lock(&mu_);
    ready_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ThreadPoolTaskRunner::PostAt(absl::Time when, Task task) {
  {
    absl::MutexLock lock(&mu_);
    timed_.emplace(when, std::move(task));
  }
  wake_.notify_one();  // It may be due before the timer a worker sleeps for.
}

// The analysis cannot follow std::unique_lock over absl::Mutex (which the condition variable
// needs); mu_ is held wherever the guarded members are touched below.
void ThreadPoolTaskRunner::Work() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  StdLockable lockable{mu_};
  std::unique_lock<StdLockable> lock(lockable);
  while (true) {
    if (stopping_) return;
    // Move due timers to the ready queue (their times are on the steady clock).
    absl::Time now = clock_.SteadyNow();
    while (!timed_.empty() && timed_.begin()->first <= now) {
      ready_.push_back(std::move(timed_.begin()->second));
      timed_.erase(timed_.begin());
    }
    if (!ready_.empty()) {
      Task task = std::move(ready_.front());
      ready_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // Whatever it holds is released outside the lock.
      lock.lock();
      continue;
    }
    // Sleep until something is posted, the next timer is due, or at most a second. The wait is
    // measured on std::chrono::steady_clock (CLOCK_MONOTONIC: pthread_cond_clockwait), so a
    // wall-clock jump cannot stretch it, as it would abseil's timed waits (absolute wall-clock
    // deadlines); the cap covers time spent suspended, which CLOCK_MONOTONIC does not count and
    // our clock does.
    absl::Duration wait = absl::Seconds(1);
    if (!timed_.empty()) wait = std::min(wait, timed_.begin()->first - now);
    wake_.wait_for(lock, absl::ToChronoNanoseconds(std::max(wait, absl::ZeroDuration())));
  }
}

}  // namespace tokend
