// The unary RPCs the load generator can drive, and their requests serialized once up front, so
// that the client spends no time on protobuf during a run.
#ifndef TOKEND_TESTS_BENCH_BENCH_REQUEST_H_
#define TOKEND_TESTS_BENCH_BENCH_REQUEST_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend::bench {

struct BenchRequest {
  std::string method_path;  // e.g. "/tokend.v1.TokenService/GetToken".
  std::string bytes;        // The serialized request message.
  std::string json;         // The request as proto JSON, for the report.
};

// The method names --method accepts, for error messages: "GetToken, ValidateToken, ...".
std::string MethodNames();

// Resolves `method` (GetToken, ValidateToken, ConsentUrl or Health, the last being
// grpc.health.v1.Health/Check) and parses `request_json` into its request type. An empty
// `request_json` selects a realistic default (GetToken: the Defender for Endpoint resource;
// ValidateToken: a 1.2 KB JWT-shaped token; ConsentUrl: a tenant and redirect URI; Health: the
// whole server). INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<BenchRequest> MakeBenchRequest(absl::string_view method,
                                              absl::string_view request_json);

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_BENCH_REQUEST_H_
