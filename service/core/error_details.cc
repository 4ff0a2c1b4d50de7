#include "service/core/error_details.h"

#include "nlohmann/json.hpp"

namespace tokend {
namespace {

constexpr char kPayloadUrl[] = "tokend.dev/error-details";

}  // namespace

absl::Status WithErrorDetails(absl::Status status, const ErrorDetails& details) {
  nlohmann::json j = {{"reason", details.reason},
                      {"error", details.error},
                      {"trace_id", details.trace_id},
                      {"correlation_id", details.correlation_id},
                      {"consent_url", details.consent_url},
                      {"retry_after_ms", absl::ToInt64Milliseconds(details.retry_after)}};
  status.SetPayload(kPayloadUrl,
                    absl::Cord(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return status;
}

std::optional<ErrorDetails> GetErrorDetails(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);  // absl::optional in this abseil.
  if (!payload.has_value()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(std::string(*payload), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  ErrorDetails details;
  details.reason = j.value("reason", "");
  details.error = j.value("error", "");
  details.trace_id = j.value("trace_id", "");
  details.correlation_id = j.value("correlation_id", "");
  details.consent_url = j.value("consent_url", "");
  details.retry_after = absl::Milliseconds(j.value("retry_after_ms", int64_t{0}));
  return details;
}

}  // namespace tokend
