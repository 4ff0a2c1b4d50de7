// Clock: where the core reads the time. It is an interface so that tests can set and advance
// time instead of sleeping; only RealClock (adapters/) calls absl::Now(). The shape follows
// abseil's later absl::Clock, so switching to it is a rename.
#ifndef TOKEND_SERVICE_CORE_CLOCK_H_
#define TOKEND_SERVICE_CORE_CLOCK_H_

#include "absl/time/time.h"

namespace tokend {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time. Thread-safe.
  virtual absl::Time TimeNow() = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CLOCK_H_
