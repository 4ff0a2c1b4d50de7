// RealClock: the system's clocks. The only place that reads them for the core: TimeNow() is
// the wall clock (absl::Now()), SteadyNow() is CLOCK_BOOTTIME (monotonic, and counting the
// time the machine is suspended, which token lifetimes need). Thread-safe.
#ifndef TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_
#define TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_

#include <time.h>

#include "absl/time/clock.h"
#include "service/core/clock.h"

namespace tokend {

class RealClock final : public Clock {
 public:
  absl::Time TimeNow() override { return absl::Now(); }
  absl::Time SteadyNow() override {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);  // Cannot fail for a valid clock id and pointer.
    return absl::TimeFromTimespec(ts);
  }
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_
