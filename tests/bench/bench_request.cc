#include "tests/bench/bench_request.h"

#include <google/protobuf/util/json_util.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/bench/fake_token.h"
#include "tokend/v1/tokend.pb.h"

namespace tokend::bench {
namespace {

struct MethodInfo {
  const char* name;  // As given to --method.
  const char* path;  // The HTTP/2 path of the method.
  std::unique_ptr<google::protobuf::Message> (*new_request)();
  std::string (*default_json)();
};

template <typename T>
std::unique_ptr<google::protobuf::Message> New() {
  return std::make_unique<T>();
}

std::string DefaultGetToken() { return absl::StrCat(R"({"resource":")", kFakeResource, R"("})"); }
std::string DefaultValidateToken() {
  const int64_t expires_at = absl::ToUnixSeconds(absl::Now()) + 3600;
  return absl::StrCat(R"({"token":")", FakeAccessToken(expires_at), R"("})");
}
std::string DefaultConsentUrl() {
  return R"({"tenantId":"contoso.onmicrosoft.com",)"
         R"("redirectUri":"https://app.contoso.com/consent/callback","state":"b7c1e0"})";
}
std::string DefaultHealth() { return "{}"; }

const MethodInfo kMethods[] = {
    {"GetToken", "/tokend.v1.TokenService/GetToken", &New<v1::GetTokenRequest>, &DefaultGetToken},
    {"ValidateToken", "/tokend.v1.TokenService/ValidateToken", &New<v1::ValidateTokenRequest>,
     &DefaultValidateToken},
    {"ConsentUrl", "/tokend.v1.TokenService/ConsentUrl", &New<v1::ConsentUrlRequest>,
     &DefaultConsentUrl},
    {"Health", "/grpc.health.v1.Health/Check", &New<grpc::health::v1::HealthCheckRequest>,
     &DefaultHealth},
};

}  // namespace

std::string MethodNames() {
  std::string out;
  for (const MethodInfo& method : kMethods) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", method.name);
  }
  return out;
}

absl::StatusOr<BenchRequest> MakeBenchRequest(absl::string_view method,
                                              absl::string_view request_json) {
  for (const MethodInfo& info : kMethods) {
    if (method != info.name) continue;
    BenchRequest out;
    out.method_path = info.path;
    out.json = request_json.empty() ? info.default_json() : std::string(request_json);
    std::unique_ptr<google::protobuf::Message> request = info.new_request();
    google::protobuf::util::Status parsed =
        google::protobuf::util::JsonStringToMessage(out.json, request.get());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--request: not a valid ", request->GetDescriptor()->full_name(),
                       " in proto JSON: ", parsed.message().as_string()));
    }
    if (!request->SerializeToString(&out.bytes)) {
      return absl::InvalidArgumentError("--request: cannot serialize the request");
    }
    return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--method: unknown method \"", method, "\"; use one of ", MethodNames()));
}

}  // namespace tokend::bench
