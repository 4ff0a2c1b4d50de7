// ThreadPoolTaskRunner: timed tasks are due by the clock's steady time, whatever its wall clock
// does. Real worker threads over a FakeClock; the test waits only for them to notice.
#include "service/adapters/thread_pool_task_runner.h"

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace tokend {
namespace {

TEST(ThreadPoolTaskRunnerTest, PostRunsSoon) {
  testing::FakeClock clock;
  ThreadPoolTaskRunner runner(clock, 2);
  absl::Notification ran;
  runner.Post([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(ThreadPoolTaskRunnerTest, TimedTasksFollowTheSteadyClockNotTheWallClock) {
  testing::FakeClock clock;
  ThreadPoolTaskRunner runner(clock, 1);
  absl::Notification timed;
  runner.PostAt(clock.SteadyNow() + absl::Hours(1), [&] { timed.Notify(); });
  // The wall clock jumps past the task's time: not due. A posted task makes the worker look
  // at its timers again; had the timed task become due then, the one worker would have run it
  // before a task posted after the first ran.
  clock.JumpWall(absl::Hours(2));
  for (int i = 0; i < 2; ++i) {
    absl::Notification posted;
    runner.Post([&] { posted.Notify(); });
    ASSERT_TRUE(posted.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  EXPECT_FALSE(timed.HasBeenNotified());
  // An hour of steady time passes: due (the worker re-reads the clock at least every second).
  clock.Advance(absl::Hours(1));
  EXPECT_TRUE(timed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(ThreadPoolTaskRunnerTest, TimedTaskAlreadyDueRunsAfterTheWallClockJumpsBack) {
  testing::FakeClock clock;
  ThreadPoolTaskRunner runner(clock, 1);
  clock.JumpWall(-absl::Hours(2));
  absl::Notification timed;
  runner.PostAt(clock.SteadyNow(), [&] { timed.Notify(); });
  runner.Post([] {});  // Wakes the worker.
  EXPECT_TRUE(timed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace tokend
