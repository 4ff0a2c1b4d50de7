// ThreadPoolTaskRunner: a fixed pool of worker threads with a timer queue on the clock's steady
// time (Clock::SteadyNow): wall-clock jumps do not move timers.
// Thread-safe. The destructor stops the workers; tasks not yet started are dropped.
#ifndef TOKEND_SERVICE_ADAPTERS_THREAD_POOL_TASK_RUNNER_H_
#define TOKEND_SERVICE_ADAPTERS_THREAD_POOL_TASK_RUNNER_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/core/clock.h"
#include "service/core/task_runner.h"

namespace tokend {

class ThreadPoolTaskRunner final : public TaskRunner {
 public:
  // Starts `threads` workers. `clock`'s SteadyNow() tells when timed tasks are due; must
  // outlive this.
  ThreadPoolTaskRunner(Clock& clock, int threads);
  ~ThreadPoolTaskRunner() override;

  void Post(Task task) override;
  void PostAt(absl::Time when, Task task) override;

 private:
  void Work();

  Clock& clock_;
  absl::Mutex mu_;
  std::condition_variable_any wake_;  // Signalled on Post, PostAt and stop; waits on mu_.
  std::deque<Task> ready_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, Task> timed_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_THREAD_POOL_TASK_RUNNER_H_
