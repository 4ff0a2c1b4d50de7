// TaskRunner: where the core runs work off the caller's thread, now or later (token requests,
// renewals, retries, deadlines). It is an interface so that tests run tasks deterministically
// with a fake clock instead of sleeping. Timed tasks are on the steady clock (Clock::SteadyNow),
// never the wall clock: a wall-clock jump neither delays nor hastens them.
#ifndef TOKEND_SERVICE_CORE_TASK_RUNNER_H_
#define TOKEND_SERVICE_CORE_TASK_RUNNER_H_

#include <functional>

#include "absl/time/time.h"

namespace tokend {

class TaskRunner {
 public:
  using Task = std::function<void()>;
  virtual ~TaskRunner() = default;

  // Runs `task` soon, on some thread other than the caller's. Thread-safe.
  virtual void Post(Task task) = 0;

  // Runs `task` once the runner's clock's SteadyNow() reaches `when` (a steady time: compute
  // it as clock.SteadyNow() + delay, never from TimeNow()). Thread-safe. Tasks cannot be
  // cancelled: a task that may become moot checks, when it runs, whether it still has work to
  // do.
  virtual void PostAt(absl::Time when, Task task) = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_TASK_RUNNER_H_
