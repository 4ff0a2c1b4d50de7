#include "tests/bench/noop_token_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/bench/fake_token.h"

namespace tokend::bench {
namespace {

grpc::ServerUnaryReactor* FinishOk(grpc::CallbackServerContext* context) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace

NoopTokenService::NoopTokenService() {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const int64_t expires_at = now + 3600;

  get_token_.set_access_token(FakeAccessToken(expires_at));
  get_token_.set_token_type("Bearer");
  get_token_.mutable_expires_at()->set_seconds(expires_at);
  get_token_.set_tenant_id(kFakeTenantId);
  for (const std::string& role : FakeRoles()) get_token_.add_roles(role);
  get_token_.set_from_cache(true);

  validate_token_.set_valid(true);
  v1::Claims* claims = validate_token_.mutable_claims();
  claims->set_tenant_id(kFakeTenantId);
  claims->set_app_id(kFakeAppId);
  claims->set_object_id(kFakeObjectId);
  claims->set_issuer(absl::StrCat("https://sts.windows.net/", kFakeTenantId, "/"));
  claims->add_audiences(kFakeResource);
  for (const std::string& role : FakeRoles()) claims->add_roles(role);
  claims->set_version("1.0");
  claims->mutable_issued_at()->set_seconds(now - 300);
  claims->mutable_not_before()->set_seconds(now - 300);
  claims->mutable_expires_at()->set_seconds(expires_at);

  consent_url_.set_url(absl::StrCat(
      "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/authorize?client_id=",
      kFakeAppId,
      "&response_type=code&redirect_uri=https%3A%2F%2Fapp.contoso.com%2Fconsent%2Fcallback"
      "&prompt=consent&state=b7c1e0"));
}

grpc::ServerUnaryReactor* NoopTokenService::GetToken(grpc::CallbackServerContext* context,
                                                     const v1::GetTokenRequest* /*request*/,
                                                     v1::GetTokenResponse* response) {
  *response = get_token_;
  return FinishOk(context);
}

grpc::ServerUnaryReactor* NoopTokenService::ValidateToken(
    grpc::CallbackServerContext* context, const v1::ValidateTokenRequest* /*request*/,
    v1::ValidateTokenResponse* response) {
  *response = validate_token_;
  return FinishOk(context);
}

grpc::ServerUnaryReactor* NoopTokenService::ConsentUrl(grpc::CallbackServerContext* context,
                                                       const v1::ConsentUrlRequest* /*request*/,
                                                       v1::ConsentUrlResponse* response) {
  *response = consent_url_;
  return FinishOk(context);
}

}  // namespace tokend::bench
