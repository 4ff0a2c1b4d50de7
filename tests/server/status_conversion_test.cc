// ToGrpcStatus as any gRPC client reads it: code, message, and the google.rpc details
// (ErrorInfo reason and metadata, RetryInfo delay).
#include "service/server/status_conversion.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "service/core/error_details.h"

namespace tokend {
namespace {

// The details of the converted status, decoded from google.rpc.Status.
ErrorDetails RoundTrip(const absl::Status& status, grpc::Status* grpc_status = nullptr) {
  grpc::Status converted = ToGrpcStatus(status);
  if (grpc_status != nullptr) *grpc_status = converted;
  ErrorDetails details;
  google::rpc::Status rich;
  EXPECT_TRUE(rich.ParseFromString(converted.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(converted.error_code()));
  for (const google::protobuf::Any& any : rich.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      details.reason = info.reason();
      details.error = info.metadata().count("error") ? info.metadata().at("error") : "";
    } else if (any.UnpackTo(&retry)) {
      details.retry_after = absl::Seconds(retry.retry_delay().seconds()) +
                            absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return details;
}

TEST(StatusConversionTest, CodeMessageAndReasonSurvive) {
  ErrorDetails details;
  details.reason = "AADSTS7000215";
  details.error = "invalid_client";
  grpc::Status status;
  ErrorDetails back =
      RoundTrip(WithErrorDetails(absl::FailedPreconditionError("wrong secret"), details), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "wrong secret");
  EXPECT_EQ(back.reason, "AADSTS7000215");
  EXPECT_EQ(back.error, "invalid_client");
  EXPECT_EQ(back.retry_after, absl::ZeroDuration());  // Not a matter of waiting.
}

TEST(StatusConversionTest, RetryAfterFromTheProviderIsTheRetryDelay) {
  ErrorDetails details;
  details.reason = "HTTP_429";
  details.retry_after = absl::Milliseconds(2500);
  EXPECT_EQ(RoundTrip(WithErrorDetails(absl::UnavailableError("throttled"), details)).retry_after,
            absl::Milliseconds(2500));
}

TEST(StatusConversionTest, UnavailableWithoutADelayStillSaysWhenToRetry) {
  ErrorDetails details;
  details.reason = "IDP_UNAVAILABLE";
  EXPECT_EQ(RoundTrip(WithErrorDetails(absl::UnavailableError("refused"), details)).retry_after,
            absl::Seconds(1));
}

TEST(StatusConversionTest, PlainStatusHasNoDetails) {
  grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("no scopes"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(status.error_details().empty());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace tokend
