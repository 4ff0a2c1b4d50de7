// Clock: where the core reads the time. It is an interface so that tests can set and advance
// time instead of sleeping; only RealClock (adapters/) reads the system's clocks. The shape
// follows abseil's later absl::Clock, so switching to it is a rename.
//
// Two clocks, for two jobs ("scheduling uses the monotonic clock; token times the wall clock"):
// - TimeNow(), the wall clock, may jump (an operator, NTP stepping, a VM resuming). Use it only
//   for what is compared with, or reported as, a calendar time: a token's exp/nbf/iat, the
//   expires_at reported to callers, expiry timestamps in metrics, times written in logs or in
//   client assertions.
// - SteadyNow() never jumps and keeps counting while the machine is suspended. Use it for
//   everything that measures elapsed time or schedules: timers (TaskRunner::PostAt), how long
//   a cached token remains valid, backoff, Retry-After, deadlines, rate-limit windows, refresh
//   intervals. Its epoch is arbitrary: only differences between its readings mean anything,
//   and they never mix with wall-clock times.
#ifndef TOKEND_SERVICE_CORE_CLOCK_H_
#define TOKEND_SERVICE_CORE_CLOCK_H_

#include "absl/time/time.h"

namespace tokend {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time. May jump either way. Thread-safe.
  virtual absl::Time TimeNow() = 0;
  // A reading of a clock that never jumps or goes back and counts suspend, as an absl::Time on
  // an arbitrary epoch (only differences mean anything). Thread-safe.
  virtual absl::Time SteadyNow() = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CLOCK_H_
