// Run-time fault injection for the dev IdP endpoints: latency, an error status (e.g. 429 with
// Retry-After, 5xx), malformed JSON, or a dropped connection. Faults are queued; each applies to
// a number of matching requests, then expires. Thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_FAULT_INJECTOR_H_
#define TOKEND_TESTS_DEVIDP_FAULT_INJECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace devidp {

enum class FaultEndpoint { kToken, kKeys, kDiscovery, kAny };
enum class FaultKind { kLatency, kStatus, kMalformedJson, kDropConnection };

struct Fault {
  FaultEndpoint endpoint = FaultEndpoint::kAny;
  FaultKind kind = FaultKind::kStatus;
  absl::Duration latency = absl::ZeroDuration();  // Delay before answering (any kind).
  int status = 0;  // kStatus: the status sent; kMalformedJson: 0 means 200.
  absl::optional<int> retry_after_seconds;  // Sets Retry-After on kStatus/kMalformedJson.
  int count = 1;                            // Matching requests it applies to; -1 = until cleared.
  // Optional overrides of the Entra error body sent for kStatus.
  std::string error;
  int error_code = 0;
  std::string error_description;

  // Parses the admin API JSON {"endpoint","kind","latency_ms","status","retry_after","count",
  // "error","error_code","error_description"}. Returns InvalidArgument naming the bad field.
  static absl::StatusOr<Fault> FromJson(const nlohmann::json& value);
  nlohmann::json ToJson() const;
};

// What to do to one request.
struct FaultPlan {
  absl::Duration latency = absl::ZeroDuration();  // Sum of the latencies that apply.
  absl::optional<Fault> action;                   // The first matching non-latency fault, if any.
};

class FaultInjector {
 public:
  // Queues `fault` after the existing ones. Returns its id.
  int64_t Add(const Fault& fault);

  // Removes all queued faults.
  void Clear();

  // Returns the plan for one request to `endpoint` (kToken, kKeys or kDiscovery) and uses up one
  // application of every fault that contributes to it: all matching latency faults, and the
  // first matching fault of another kind (later ones wait their turn).
  FaultPlan Take(FaultEndpoint endpoint);

  // Returns the queued faults with their ids and remaining counts.
  nlohmann::json ToJson() const;

 private:
  struct Entry {
    int64_t id;
    Fault fault;
    int remaining;  // -1 = until cleared.
  };

  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_FAULT_INJECTOR_H_
