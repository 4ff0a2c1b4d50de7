// The one place where the core's absl::Status becomes a grpc::Status. The code maps one to one
// (both use the canonical codes) and the message is kept; core messages never hold secrets.
#ifndef TOKEND_SERVICE_SERVER_STATUS_CONVERSION_H_
#define TOKEND_SERVICE_SERVER_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace tokend {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_STATUS_CONVERSION_H_
