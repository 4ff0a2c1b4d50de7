// TokenServiceImpl: the gRPC face of tokend.v1.TokenService. Handlers are thin: they turn the
// request into core calls, map the result with ToGrpcStatus and call Finish exactly once. No
// reaction blocks: a token from memory is answered inline, a cold miss is answered from the
// TokenCache's thread when the token arrives. Thread-safe.
//
// Who may call: with --tls-allowed-clients, an mTLS caller whose certificate matches no entry is
// refused every RPC. With a caller policy (SetPolicy), GetToken and WatchToken are checked
// against it once the credential, tenant and scopes or resource are resolved, before the cache
// is asked; ValidateToken and ConsentUrl issue no token and are not gated by the policy. Both
// refusals are PERMISSION_DENIED, logged as warnings and counted. With neither, the caller is
// never looked at.
#ifndef TOKEND_SERVICE_SERVER_TOKEN_SERVICE_IMPL_H_
#define TOKEND_SERVICE_SERVER_TOKEN_SERVICE_IMPL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/core/caller_policy.h"
#include "service/core/credential_store.h"
#include "service/core/token_cache.h"
#include "service/core/token_validator.h"
#include "tokend/v1/tokend.grpc.pb.h"

namespace tokend {

class WatchTokenReactor;

struct TokenServiceOptions {
  std::string authority_host;                // --authority-host, normalised.
  std::vector<std::string> allowed_tenants;  // --allowed-tenants (besides credentials' own).
  bool any_tenant = false;                   // --allowed-tenants '*'.
  absl::Duration default_min_validity = absl::Minutes(5);
  // Calls and validations counted; not owned; null: not counted. WatchToken is counted when
  // the stream is opened (OK) or refused (its code), without latency.
  Metrics* metrics = nullptr;
  // --tls-allowed-clients ("uri:..." / "dns:..."); empty: every mTLS client may call.
  std::vector<std::string> allowed_clients;
};

class TokenServiceImpl final : public v1::TokenService::CallbackService {
 public:
  // `credentials`, `tokens` and `validator` must outlive this object.
  TokenServiceImpl(const CredentialStore& credentials, TokenCache& tokens,
                   TokenValidator& validator, TokenServiceOptions options);
  ~TokenServiceImpl() override;

  grpc::ServerUnaryReactor* GetToken(grpc::CallbackServerContext* context,
                                     const v1::GetTokenRequest* request,
                                     v1::GetTokenResponse* response) override;
  grpc::ServerWriteReactor<v1::GetTokenResponse>* WatchToken(
      grpc::CallbackServerContext* context, const v1::GetTokenRequest* request) override;
  grpc::ServerUnaryReactor* ValidateToken(grpc::CallbackServerContext* context,
                                          const v1::ValidateTokenRequest* request,
                                          v1::ValidateTokenResponse* response) override;
  grpc::ServerUnaryReactor* ConsentUrl(grpc::CallbackServerContext* context,
                                       const v1::ConsentUrlRequest* request,
                                       v1::ConsentUrlResponse* response) override;

  // Ends every WatchToken stream with OK, and refuses new ones (shutdown).
  void EndWatches();

  // Enforces `policy` on the token requests that start from now on (streams already open keep
  // the decision made when they opened). Null: no policy (every caller may get every token).
  void SetPolicy(std::shared_ptr<const CallerPolicy> policy);

 private:
  // OK unless --tls-allowed-clients is set and the caller is an mTLS client whose certificate
  // matches none of it: then PERMISSION_DENIED, logged and counted. Fills `caller` if it had
  // to look.
  absl::Status CheckAllowedClient(const grpc::CallbackServerContext& context, const char* method,
                                  std::optional<Caller>* caller) const;
  // OK without a policy or when it allows `request` for the caller; else PERMISSION_DENIED with
  // the policy's reason, logged and counted. Fills `caller` if it is not filled yet.
  absl::Status AuthorizeByPolicy(const grpc::CallbackServerContext& context, const char* method,
                                 const TokenRequest& request, std::optional<Caller>* caller) const;
  absl::StatusOr<TokenRequest> MakeTokenRequest(const v1::GetTokenRequest& request,
                                                absl::Time deadline) const;
  // The allow list, then MakeTokenRequest, then the policy: the request of a GetToken or
  // WatchToken call that this caller may make, or why not.
  absl::StatusOr<TokenRequest> AdmitTokenRequest(const grpc::CallbackServerContext& context,
                                                 const char* method,
                                                 const v1::GetTokenRequest& request,
                                                 absl::Time deadline) const;
  absl::Status CheckTenantAllowed(const Credential& credential, const std::string& tenant) const;
  absl::Status HandleConsentUrl(const v1::ConsentUrlRequest& request,
                                v1::ConsentUrlResponse* response) const;

  // Constant after construction.
  const CredentialStore& credentials_;
  TokenCache& tokens_;
  TokenValidator& validator_;
  const TokenServiceOptions options_;
  Metrics& metrics_;

  std::atomic<bool> has_policy_{false};  // policy_ is not null; read without the lock.
  mutable absl::Mutex policy_mu_;
  std::shared_ptr<const CallerPolicy> policy_ ABSL_GUARDED_BY(policy_mu_);

  absl::Mutex watches_mu_;
  // Open streams, each with the function that ends it.
  std::map<WatchTokenReactor*, std::function<void()>> watches_ ABSL_GUARDED_BY(watches_mu_);
  bool ending_ ABSL_GUARDED_BY(watches_mu_) = false;
};

// Fills a ValidateTokenResponse from a validation result.
void RenderValidation(const ValidationResult& result, v1::ValidateTokenResponse* response);

// Fills a GetTokenResponse from a cached token.
v1::GetTokenResponse RenderToken(const CachedToken& token, const std::string& tenant);

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_TOKEN_SERVICE_IMPL_H_
