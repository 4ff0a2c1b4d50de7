// NoopTokenService answers tokend's unary RPCs at once with fixed, realistic-size responses
// built in the constructor, so that a server running it costs gRPC plus serialization and
// nothing else: the baseline every tokend figure is divided by. WatchToken is not implemented.
// Thread-safe: the responses are constant after construction.
#ifndef TOKEND_TESTS_BENCH_NOOP_TOKEN_SERVICE_H_
#define TOKEND_TESTS_BENCH_NOOP_TOKEN_SERVICE_H_

#include "tokend/v1/tokend.grpc.pb.h"

namespace tokend::bench {

class NoopTokenService final : public v1::TokenService::CallbackService {
 public:
  NoopTokenService();

  // Each handler copies its canned response and finishes inline, as tokend does on a cache hit.
  grpc::ServerUnaryReactor* GetToken(grpc::CallbackServerContext* context,
                                     const v1::GetTokenRequest* request,
                                     v1::GetTokenResponse* response) override;
  grpc::ServerUnaryReactor* ValidateToken(grpc::CallbackServerContext* context,
                                          const v1::ValidateTokenRequest* request,
                                          v1::ValidateTokenResponse* response) override;
  grpc::ServerUnaryReactor* ConsentUrl(grpc::CallbackServerContext* context,
                                       const v1::ConsentUrlRequest* request,
                                       v1::ConsentUrlResponse* response) override;

  // The canned responses, for tests and for logging their sizes.
  const v1::GetTokenResponse& get_token_response() const { return get_token_; }
  const v1::ValidateTokenResponse& validate_token_response() const { return validate_token_; }
  const v1::ConsentUrlResponse& consent_url_response() const { return consent_url_; }

 private:
  // Constant after construction.
  v1::GetTokenResponse get_token_;
  v1::ValidateTokenResponse validate_token_;
  v1::ConsentUrlResponse consent_url_;
};

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_NOOP_TOKEN_SERVICE_H_
