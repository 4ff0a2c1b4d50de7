#include "service/adapters/thread_pool_task_runner.h"

#include <utility>

namespace tokend {

ThreadPoolTaskRunner::ThreadPoolTaskRunner(Clock& clock, int threads) : clock_(clock) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadPoolTaskRunner::~ThreadPoolTaskRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void ThreadPoolTaskRunner::Post(Task task) {
  absl::MutexLock lock(&mu_);
  ready_.push_back(std::move(task));
}

void ThreadPoolTaskRunner::PostAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  timed_.emplace(when, std::move(task));
}

void ThreadPoolTaskRunner::Work() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stopping_) return;
        // Move due timers to the ready queue.
        absl::Time now = clock_.TimeNow();
        while (!timed_.empty() && timed_.begin()->first <= now) {
          ready_.push_back(std::move(timed_.begin()->second));
          timed_.erase(timed_.begin());
        }
        if (!ready_.empty()) {
          task = std::move(ready_.front());
          ready_.pop_front();
          break;
        }
        // Sleep until something is posted, the next timer is due, or at most a second (the
        // wall clock may jump; the loop re-reads it).
        absl::Duration wait = absl::Seconds(1);
        if (!timed_.empty()) wait = std::min(wait, timed_.begin()->first - now);
        auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || !ready_.empty();
        };
        mu_.AwaitWithTimeout(absl::Condition(&has_work), wait);
      }
    }
    task();
  }
}

}  // namespace tokend
