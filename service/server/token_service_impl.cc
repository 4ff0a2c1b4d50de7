#include "service/server/token_service_impl.h"

#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/logging.h"
#include "service/common/status_macros.h"
#include "service/core/consent_url.h"
#include "service/core/identifiers.h"
#include "service/server/caller_identity.h"
#include "service/server/status_conversion.h"
#include "service/server/watch_token_reactor.h"

namespace tokend {
namespace {

constexpr absl::Duration kMaxMinValidity = absl::Hours(24);

absl::StatusOr<ConsentKind> ToConsentKind(v1::ConsentKind kind) {
  switch (kind) {
    case v1::CONSENT_KIND_UNSPECIFIED:
    case v1::CONSENT_KIND_V1_CONSENT:
      return ConsentKind::kV1Consent;
    case v1::CONSENT_KIND_V1_ADMIN_CONSENT:
      return ConsentKind::kV1AdminConsent;
    case v1::CONSENT_KIND_V2_ADMIN_CONSENT:
      return ConsentKind::kV2AdminConsent;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("kind: unknown consent kind ", static_cast<int>(kind)));
  }
}

// Finishes a unary call and counts it with its latency since `start`.
void Finish(grpc::ServerUnaryReactor* reactor, Metrics& metrics, const char* method,
            std::chrono::steady_clock::time_point start, grpc::Status status) {
  metrics.Rpc(method, status.error_code(),
              absl::FromChrono(std::chrono::steady_clock::now() - start));
  reactor->Finish(std::move(status));
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

}  // namespace

v1::GetTokenResponse RenderToken(const CachedToken& token, const std::string& tenant) {
  v1::GetTokenResponse response;
  const AccessToken& t = *token.token;
  response.set_access_token(std::string(t.value.Reveal()));
  response.set_token_type(t.token_type);
  // The cache's wall-clock expiry at serve time, not t.expires_at (the wall clock at receipt).
  response.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(token.expires_at));
  response.set_tenant_id(t.tenant_id.empty() ? tenant : t.tenant_id);
  for (const std::string& role : t.roles) response.add_roles(role);
  response.set_from_cache(token.from_cache);
  return response;
}

TokenServiceImpl::TokenServiceImpl(const CredentialStore& credentials, TokenCache& tokens,
                                   TokenValidator& validator, TokenServiceOptions options)
    : credentials_(credentials),
      tokens_(tokens),
      validator_(validator),
      options_(std::move(options)),
      metrics_(options_.metrics != nullptr ? *options_.metrics : NoMetrics()) {}

void RenderValidation(const ValidationResult& result, v1::ValidateTokenResponse* response) {
  response->set_valid(result.valid());
  // JwtFailure is numbered as tokend.v1.ValidationFailure (kNone = UNSPECIFIED).
  response->set_failure(static_cast<v1::ValidationFailure>(result.failure));
  response->set_detail(result.detail);
  for (const std::string& role : result.missing_roles) response->add_missing_roles(role);
  if (result.jwt == nullptr) return;
  const Jwt& jwt = *result.jwt;
  v1::Claims* claims = response->mutable_claims();
  claims->set_tenant_id(jwt.tid);
  claims->set_app_id(!jwt.appid.empty() ? jwt.appid : jwt.azp);
  claims->set_object_id(jwt.oid);
  claims->set_issuer(jwt.iss);
  for (const std::string& aud : jwt.aud) claims->add_audiences(aud);
  for (const std::string& role : jwt.roles) claims->add_roles(role);
  claims->set_version(jwt.ver);
  if (jwt.iat.has_value()) claims->mutable_issued_at()->set_seconds(*jwt.iat);
  if (jwt.nbf.has_value()) claims->mutable_not_before()->set_seconds(*jwt.nbf);
  claims->mutable_expires_at()->set_seconds(jwt.exp);
}

grpc::ServerUnaryReactor* TokenServiceImpl::ValidateToken(grpc::CallbackServerContext* context,
                                                          const v1::ValidateTokenRequest* request,
                                                          v1::ValidateTokenResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<Caller> caller;
  if (absl::Status allowed = CheckAllowedClient(*context, "ValidateToken", &caller);
      !allowed.ok()) {
    Finish(reactor, metrics_, "ValidateToken", start, ToGrpcStatus(allowed));
    return reactor;
  }
  ValidationRequest validation;
  validation.token = request->token();
  validation.required_roles.assign(request->required_roles().begin(),
                                   request->required_roles().end());
  validation.audiences.assign(request->audiences().begin(), request->audiences().end());
  validator_.Validate(
      validation, [this, reactor, response, start](absl::StatusOr<ValidationResult> result) {
        if (!result.ok()) {
          Finish(reactor, metrics_, "ValidateToken", start, ToGrpcStatus(result.status()));
          return;
        }
        metrics_.Validation(result->failure);
        RenderValidation(*result, response);
        Finish(reactor, metrics_, "ValidateToken", start, grpc::Status::OK);
      });
  return reactor;
}

TokenServiceImpl::~TokenServiceImpl() = default;

void TokenServiceImpl::SetPolicy(std::shared_ptr<const CallerPolicy> policy) {
  absl::MutexLock lock(&policy_mu_);
  has_policy_.store(policy != nullptr, std::memory_order_release);
  policy_ = std::move(policy);
}

absl::Status TokenServiceImpl::CheckAllowedClient(const grpc::CallbackServerContext& context,
                                                  const char* method,
                                                  std::optional<Caller>* caller) const {
  if (options_.allowed_clients.empty()) return absl::OkStatus();
  if (!caller->has_value()) *caller = CallerOf(context);
  const Caller& who = **caller;
  // Unix socket callers present no certificate; the list names mTLS clients only.
  if (who.transport != Caller::Transport::kMtls) return absl::OkStatus();
  for (const std::string& pattern : options_.allowed_clients) {
    if (CallerMatches(pattern, who)) return absl::OkStatus();
  }
  metrics_.TlsClientDenial();
  LogWarning("client certificate not in --tls-allowed-clients; call refused",
             {{"method", method},
              {"uri_sans", absl::StrJoin(who.uri_sans, ",")},
              {"dns_sans", absl::StrJoin(who.dns_sans, ",")}});
  return absl::PermissionDeniedError(
      absl::StrCat("client certificate (", who.Describe(), ") is not in --tls-allowed-clients"));
}

absl::Status TokenServiceImpl::AuthorizeByPolicy(const grpc::CallbackServerContext& context,
                                                 const char* method, const TokenRequest& request,
                                                 std::optional<Caller>* caller) const {
  if (!has_policy_.load(std::memory_order_acquire)) return absl::OkStatus();
  std::shared_ptr<const CallerPolicy> policy;
  {
    absl::ReaderMutexLock lock(&policy_mu_);
    policy = policy_;
  }
  if (policy == nullptr) return absl::OkStatus();
  if (!caller->has_value()) *caller = CallerOf(context);
  PolicyRequest asked;
  asked.credential = request.credential->name;
  asked.tenant = request.tenant;
  asked.scopes = request.target.scopes;
  asked.resource = request.target.resource;
  std::string rule;
  absl::Status allowed = policy->Authorize(**caller, asked, &rule);
  if (allowed.ok()) return allowed;
  metrics_.PolicyDenial(rule);
  LogWarning("token request denied by the caller policy",
             {{"method", method},
              {"caller", (*caller)->Describe()},
              {"rule", rule},
              {"credential", asked.credential},
              {"tenant", asked.tenant},
              {"reason", std::string(allowed.message())}});
  if (allowed.code() == absl::StatusCode::kPermissionDenied) return allowed;
  return absl::PermissionDeniedError(allowed.message());
}

absl::Status TokenServiceImpl::CheckTenantAllowed(const Credential& credential,
                                                  const std::string& tenant) const {
  if (options_.any_tenant || absl::EqualsIgnoreCase(tenant, credential.tenant_id)) {
    return absl::OkStatus();
  }
  for (const std::string& allowed : options_.allowed_tenants) {
    if (absl::EqualsIgnoreCase(tenant, allowed)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      "tenant_id: this tenant is not in --allowed-tenants, and is not the credential's own");
}

absl::StatusOr<TokenRequest> TokenServiceImpl::MakeTokenRequest(const v1::GetTokenRequest& request,
                                                                absl::Time deadline) const {
  TokenRequest out;
  TOKEND_ASSIGN_OR_RETURN(out.credential, credentials_.Find(request.credential()));
  out.tenant = request.tenant_id().empty() ? out.credential->tenant_id : request.tenant_id();
  if (!IsTenantId(out.tenant)) {
    return absl::InvalidArgumentError(
        "tenant_id: must be a tenant GUID or a domain name such as contoso.onmicrosoft.com");
  }
  TOKEND_RETURN_IF_ERROR(CheckTenantAllowed(*out.credential, out.tenant));
  out.target.scopes.assign(request.scopes().begin(), request.scopes().end());
  out.target.resource = request.resource();
  TOKEND_RETURN_IF_ERROR(ValidateTokenTarget(out.target));
  out.min_validity = options_.default_min_validity;
  if (request.has_min_validity()) {
    const google::protobuf::Duration& d = request.min_validity();
    if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1000000000) {
      return absl::InvalidArgumentError("min_validity: must not be negative");
    }
    out.min_validity = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (out.min_validity > kMaxMinValidity) {
      return absl::InvalidArgumentError("min_validity: must be at most 24h");
    }
  }
  out.force_refresh = request.force_refresh();
  out.deadline = deadline;
  return out;
}

absl::StatusOr<TokenRequest> TokenServiceImpl::AdmitTokenRequest(
    const grpc::CallbackServerContext& context, const char* method,
    const v1::GetTokenRequest& request, absl::Time deadline) const {
  std::optional<Caller> caller;  // Looked at only if the allow list or a policy needs it.
  TOKEND_RETURN_IF_ERROR(CheckAllowedClient(context, method, &caller));
  TOKEND_ASSIGN_OR_RETURN(TokenRequest out, MakeTokenRequest(request, deadline));
  TOKEND_RETURN_IF_ERROR(AuthorizeByPolicy(context, method, out, &caller));
  return out;
}

grpc::ServerUnaryReactor* TokenServiceImpl::GetToken(grpc::CallbackServerContext* context,
                                                     const v1::GetTokenRequest* request,
                                                     v1::GetTokenResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<TokenRequest> token_request =
      AdmitTokenRequest(*context, "GetToken", *request, DeadlineOf(*context));
  if (!token_request.ok()) {
    Finish(reactor, metrics_, "GetToken", start, ToGrpcStatus(token_request.status()));
    return reactor;
  }
  std::string tenant = token_request->tenant;
  tokens_.Get(*token_request,
              [this, reactor, response, tenant, start](absl::StatusOr<CachedToken> token) {
                if (!token.ok()) {
                  Finish(reactor, metrics_, "GetToken", start, ToGrpcStatus(token.status()));
                  return;
                }
                *response = RenderToken(*token, tenant);
                Finish(reactor, metrics_, "GetToken", start, grpc::Status::OK);
              });
  return reactor;
}

grpc::ServerWriteReactor<v1::GetTokenResponse>* TokenServiceImpl::WatchToken(
    grpc::CallbackServerContext* context, const v1::GetTokenRequest* request) {
  absl::StatusOr<TokenRequest> token_request =
      AdmitTokenRequest(*context, "WatchToken", *request, absl::InfiniteFuture());
  {
    absl::MutexLock lock(&watches_mu_);
    if (ending_ && token_request.ok()) {
      token_request = absl::UnavailableError("tokend is shutting down");
    }
  }
  if (!token_request.ok()) {
    // A reactor that only reports the error.
    class Failed final : public grpc::ServerWriteReactor<v1::GetTokenResponse> {
     public:
      explicit Failed(grpc::Status status) { Finish(std::move(status)); }
      void OnDone() override { delete this; }
    };
    grpc::Status status = ToGrpcStatus(token_request.status());
    metrics_.Rpc("WatchToken", status.error_code(), absl::ZeroDuration());
    return new Failed(std::move(status));
  }
  metrics_.Rpc("WatchToken", grpc::StatusCode::OK, absl::ZeroDuration());
  std::string tenant = token_request->tenant;
  WatchTokenReactor* reactor = WatchTokenReactor::Start(
      tokens_, *token_request,
      [tenant](const CachedToken& token) { return RenderToken(token, tenant); },
      [this](WatchTokenReactor* done) {
        absl::MutexLock lock(&watches_mu_);
        watches_.erase(done);
      });
  // OnDone cannot run before this handler returns the reactor, so registering now is safe.
  std::function<void()> ender = reactor->Ender();
  bool end_now;
  {
    absl::MutexLock lock(&watches_mu_);
    watches_.emplace(reactor, ender);
    end_now = ending_;
  }
  if (end_now) ender();
  return reactor;
}

void TokenServiceImpl::EndWatches() {
  std::vector<std::function<void()>> enders;
  {
    absl::MutexLock lock(&watches_mu_);
    ending_ = true;
    for (const auto& [reactor, ender] : watches_) enders.push_back(ender);
  }
  for (const auto& ender : enders) ender();
}

grpc::ServerUnaryReactor* TokenServiceImpl::ConsentUrl(grpc::CallbackServerContext* context,
                                                       const v1::ConsentUrlRequest* request,
                                                       v1::ConsentUrlResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::optional<Caller> caller;
  absl::Status status = CheckAllowedClient(*context, "ConsentUrl", &caller);
  if (status.ok()) status = HandleConsentUrl(*request, response);
  Finish(reactor, metrics_, "ConsentUrl", start, ToGrpcStatus(status));
  return reactor;
}

absl::Status TokenServiceImpl::HandleConsentUrl(const v1::ConsentUrlRequest& request,
                                                v1::ConsentUrlResponse* response) const {
  ConsentRequest consent;
  TOKEND_ASSIGN_OR_RETURN(consent.kind, ToConsentKind(request.kind()));
  TOKEND_ASSIGN_OR_RETURN(std::shared_ptr<const Credential> credential,
                          credentials_.Find(request.credential()));
  consent.tenant_id = request.tenant_id();
  consent.redirect_uri = request.redirect_uri();
  consent.state = request.state();
  consent.scopes.assign(request.scopes().begin(), request.scopes().end());
  const std::string& authority =
      credential->authority_host.empty() ? options_.authority_host : credential->authority_host;
  TOKEND_ASSIGN_OR_RETURN(std::string url,
                          BuildConsentUrl(consent, credential->client_id, authority));
  response->set_url(std::move(url));
  return absl::OkStatus();
}

}  // namespace tokend
