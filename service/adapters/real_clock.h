// RealClock: the system's wall clock. The only place that calls absl::Now(). Thread-safe.
#ifndef TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_
#define TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_

#include "absl/time/clock.h"
#include "service/core/clock.h"

namespace tokend {

class RealClock final : public Clock {
 public:
  absl::Time TimeNow() override { return absl::Now(); }
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_REAL_CLOCK_H_
