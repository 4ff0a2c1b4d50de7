// Request counters of the dev IdP, read by tests through GET /_devidp/counters. Thread-safe.
#ifndef TOKEND_TESTS_DEVIDP_REQUEST_COUNTERS_H_
#define TOKEND_TESTS_DEVIDP_REQUEST_COUNTERS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace devidp {

class RequestCounters {
 public:
  // Counts one token endpoint request (v1 or v2) by `client_id` ("" when none was sent), and its
  // outcome: `success` iff a token was issued (injected faults count as errors).
  void RecordToken(absl::string_view client_id, bool success);
  void RecordKeys();       // One JWKS request (v1 or v2).
  void RecordDiscovery();  // One discovery document request (v1 or v2).

  // Returns {"token_requests", "token_requests_by_client":{id:n}, "token_success",
  // "token_errors", "keys_requests", "discovery_requests"}.
  nlohmann::json ToJson() const;

  // Sets every counter to zero.
  void Reset();

 private:
  mutable absl::Mutex mu_;
  int64_t token_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> token_requests_by_client_ ABSL_GUARDED_BY(mu_);
  int64_t token_success_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t token_errors_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t keys_requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t discovery_requests_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_REQUEST_COUNTERS_H_
