#include "tests/devidp/request_counters.h"

namespace tokend {
namespace devidp {

void RequestCounters::RecordToken(absl::string_view client_id, bool success) {
  absl::MutexLock lock(&mu_);
  ++token_requests_;
  ++token_requests_by_client_[std::string(client_id)];
  ++(success ? token_success_ : token_errors_);
}

void RequestCounters::RecordKeys() {
  absl::MutexLock lock(&mu_);
  ++keys_requests_;
}

void RequestCounters::RecordDiscovery() {
  absl::MutexLock lock(&mu_);
  ++discovery_requests_;
}

nlohmann::json RequestCounters::ToJson() const {
  absl::MutexLock lock(&mu_);
  return nlohmann::json{
      {"token_requests", token_requests_}, {"token_requests_by_client", token_requests_by_client_},
      {"token_success", token_success_},   {"token_errors", token_errors_},
      {"keys_requests", keys_requests_},   {"discovery_requests", discovery_requests_}};
}

void RequestCounters::Reset() {
  absl::MutexLock lock(&mu_);
  token_requests_ = 0;
  token_requests_by_client_.clear();
  token_success_ = 0;
  token_errors_ = 0;
  keys_requests_ = 0;
  discovery_requests_ = 0;
}

}  // namespace devidp
}  // namespace tokend
