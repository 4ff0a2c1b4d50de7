#include "service/server/status_conversion.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "service/core/error_details.h"

namespace tokend {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share the canonical numbering (0..16).
  auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  std::optional<ErrorDetails> details = GetErrorDetails(status);
  if (!details.has_value()) return grpc::Status(code, message);

  // The standard rich error model, so that clients in any language can read the details.
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason(details->reason);
  info.set_domain("tokend");
  if (!details->error.empty()) (*info.mutable_metadata())["error"] = details->error;
  if (!details->trace_id.empty()) (*info.mutable_metadata())["trace_id"] = details->trace_id;
  if (!details->correlation_id.empty()) {
    (*info.mutable_metadata())["correlation_id"] = details->correlation_id;
  }
  rich.add_details()->PackFrom(info);
  // UNAVAILABLE always says when to retry. Without a delay from the identity provider
  // (Retry-After) or the rate limit, tokend has already retried with backoff and remembers no
  // failure: the next call starts afresh, so a short pause is the honest hint.
  absl::Duration retry_after = details->retry_after;
  if (retry_after <= absl::ZeroDuration() && code == grpc::StatusCode::UNAVAILABLE) {
    retry_after = absl::Seconds(1);
  }
  if (retry_after > absl::ZeroDuration()) {
    google::rpc::RetryInfo retry;
    int64_t ms = absl::ToInt64Milliseconds(retry_after);
    retry.mutable_retry_delay()->set_seconds(ms / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
    rich.add_details()->PackFrom(retry);
  }
  if (!details->consent_url.empty()) {
    google::rpc::Help help;
    google::rpc::Help::Link* link = help.add_links();
    link->set_description("an administrator of the tenant grants the application consent here");
    link->set_url(details->consent_url);
    rich.add_details()->PackFrom(help);
  }
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace tokend
