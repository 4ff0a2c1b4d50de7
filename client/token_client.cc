#include "client/token_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace tokend {

const char* HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case HealthStatus::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

namespace {
constexpr char kDetailsPayload[] = "type.googleapis.com/google.rpc.Status";
}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (!status.error_details().empty()) {
    out.SetPayload(kDetailsPayload, absl::Cord(status.error_details()));
  }
  return out;
}

ErrorDetails ErrorDetailsOf(const absl::Status& status) {
  ErrorDetails out;
  auto payload = status.GetPayload(kDetailsPayload);
  if (!payload.has_value()) return out;
  google::rpc::Status rich;
  if (!rich.ParseFromString(std::string(*payload))) return out;
  for (const google::protobuf::Any& any : rich.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    google::rpc::Help help;
    if (any.UnpackTo(&info)) {
      out.reason = info.reason();
      auto get = [&](const char* key) {
        auto it = info.metadata().find(key);
        return it == info.metadata().end() ? std::string() : it->second;
      };
      out.error = get("error");
      out.trace_id = get("trace_id");
      out.correlation_id = get("correlation_id");
    } else if (any.UnpackTo(&retry)) {
      out.retry_after = absl::Seconds(retry.retry_delay().seconds()) +
                        absl::Nanoseconds(retry.retry_delay().nanos());
    } else if (any.UnpackTo(&help) && help.links_size() > 0) {
      out.consent_url = help.links(0).url();
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TokenClient>> TokenClient::Create(const std::string& address,
                                                                 const ClientOptions& options) {
  if (address.empty()) return absl::InvalidArgumentError("address: must not be empty");
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  return std::unique_ptr<TokenClient>(new TokenClient(std::move(channel), options));
}

TokenClient::TokenClient(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options)
    : options_(options),
      channel_(std::move(channel)),
      stub_(v1::TokenService::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

void TokenClient::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
}

absl::StatusOr<std::string> TokenClient::ConsentUrl(const v1::ConsentUrlRequest& request) const {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ConsentUrlResponse response;
  grpc::Status status = stub_->ConsentUrl(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.url();
}

absl::StatusOr<v1::GetTokenResponse> TokenClient::GetToken(
    const v1::GetTokenRequest& request) const {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetTokenResponse response;
  grpc::Status status = stub_->GetToken(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ValidateTokenResponse> TokenClient::ValidateToken(
    const v1::ValidateTokenRequest& request) const {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ValidateTokenResponse response;
  grpc::Status status = stub_->ValidateToken(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::Status TokenClient::WatchToken(
    const v1::GetTokenRequest& request,
    const std::function<bool(const v1::GetTokenResponse&)>& on_token) const {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GetTokenResponse>> reader =
      stub_->WatchToken(&context, request);
  v1::GetTokenResponse response;
  while (reader->Read(&response)) {
    if (!on_token(response)) {
      context.TryCancel();
      reader->Finish();
      return absl::OkStatus();
    }
  }
  return FromGrpcStatus(reader->Finish());
}

absl::StatusOr<HealthStatus> TokenClient::Health(const std::string& service) const {
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health_->Check(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return HealthStatus::kServiceUnknown;
  if (!status.ok()) return FromGrpcStatus(status);
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return HealthStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return HealthStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return HealthStatus::kServiceUnknown;
    default:
      return HealthStatus::kUnknown;
  }
}

}  // namespace tokend
