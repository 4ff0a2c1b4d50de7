// The gRPC handlers over a real server and an in-process channel, with scripted HTTP behind
// the token cache: request fields in, status codes, messages and error details out.
#include "service/server/token_service_impl.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/adapters/real_clock.h"
#include "service/adapters/thread_pool_task_runner.h"
#include "service/core/base64url.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kResource[] = "https://api.securitycenter.microsoft.com";

std::shared_ptr<const Credential> MakeCredential(const std::string& name,
                                                 const std::string& authority) {
  auto c = std::make_shared<Credential>();
  c->name = name;
  c->tenant_id = kTenant;
  c->client_id = kClientId;
  c->client_secret = SecretString("not-a-real-secret");
  c->authority_host = authority;
  c->version = "1";
  return c;
}

std::string TokenReply(const std::string& roles_json) {
  std::string jwt = absl::StrCat(
      Base64UrlEncode(R"({"alg":"RS256"})"), ".",
      Base64UrlEncode(absl::StrCat(R"({"tid":")", kTenant, R"(","roles":)", roles_json, "}")),
      ".c2ln");
  return absl::StrCat(R"({"token_type":"Bearer","expires_in":3599,"access_token":")", jwt, "\"}");
}

class TokenServiceImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CredentialSnapshot snapshot;
    snapshot.credentials["mde"] = MakeCredential("mde", "");
    snapshot.credentials["gov"] = MakeCredential("gov", "https://login.microsoftonline.us");
    snapshot.failures["broken"] = absl::FailedPreconditionError("file client-id: must be a GUID");
    store_.Apply(snapshot);
    TokenServiceOptions options;
    options.authority_host = "https://login.microsoftonline.com";
    options.allowed_tenants = {"fabrikam.onmicrosoft.com"};
    service_ = std::make_unique<TokenServiceImpl>(store_, cache_, *validator_, options);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = v1::TokenService::NewStub(channel_);
  }
  void TearDown() override {
    service_->EndWatches();
    server_->Shutdown();
  }

  grpc::Status Consent(const v1::ConsentUrlRequest& request, std::string* url) {
    grpc::ClientContext context;
    v1::ConsentUrlResponse response;
    grpc::Status status = stub_->ConsentUrl(&context, request, &response);
    *url = response.url();
    return status;
  }

  grpc::Status Token(const v1::GetTokenRequest& request, v1::GetTokenResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub_->GetToken(&context, request, response);
  }

  static v1::GetTokenRequest ResourceRequest() {
    v1::GetTokenRequest request;
    request.set_credential("mde");
    request.set_resource(kResource);
    return request;
  }

  testing::FakeHttpClient http_;
  RealClock clock_;
  TokenFetcher fetcher_{http_, clock_, "https://login.microsoftonline.com"};
  ThreadPoolTaskRunner runner_{clock_, 2};
  // One attempt per call, so a throttled call answers at once instead of retrying.
  TokenCache cache_{fetcher_, clock_, runner_, [] {
                      TokenCacheOptions options;
                      options.max_attempts = 1;
                      return options;
                    }()};
  JwksCache jwks_{http_, clock_, runner_, "https://login.microsoftonline.com"};
  std::unique_ptr<TokenValidator> validator_ = *TokenValidator::Create(jwks_, clock_, [] {
    TokenValidatorOptions options;
    options.audiences = {"https://api.securitycenter.microsoft.com"};
    options.tenant_allowed = [](const std::string& tenant) { return tenant == kTenant; };
    return options;
  }());
  CredentialStore store_;
  std::unique_ptr<TokenServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

TEST_F(TokenServiceImplTest, GetTokenFillsTheResponseAndThenServesFromCache) {
  http_.Push(200, TokenReply(R"(["Ti.ReadWrite","Event.Write"])"));
  v1::GetTokenResponse response;
  ASSERT_TRUE(Token(ResourceRequest(), &response).ok());
  EXPECT_THAT(response.access_token(), StartsWith("eyJ"));
  EXPECT_EQ(response.token_type(), "Bearer");
  EXPECT_EQ(response.tenant_id(), kTenant);
  EXPECT_THAT(response.roles(), ElementsAre("Ti.ReadWrite", "Event.Write"));
  EXPECT_FALSE(response.from_cache());
  EXPECT_GT(response.expires_at().seconds(), absl::ToUnixSeconds(absl::Now()) + 3500);
  v1::GetTokenResponse again;
  ASSERT_TRUE(Token(ResourceRequest(), &again).ok());
  EXPECT_TRUE(again.from_cache());
  EXPECT_EQ(again.access_token(), response.access_token());
  ASSERT_EQ(http_.request_count(), 1u);
  EXPECT_EQ(http_.requests()[0].url,
            absl::StrCat("https://login.microsoftonline.com/", kTenant, "/oauth2/token"));
}

TEST_F(TokenServiceImplTest, GetTokenRejectsBadRequestsNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(v1::GetTokenRequest*)> edit;
    grpc::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"neither scopes nor resource", [](v1::GetTokenRequest* r) { r->clear_resource(); },
       grpc::StatusCode::INVALID_ARGUMENT, "scopes, resource"},
      {"both", [](v1::GetTokenRequest* r) { r->add_scopes("api://x/.default"); },
       grpc::StatusCode::INVALID_ARGUMENT, "exactly one"},
      {"malformed tenant", [](v1::GetTokenRequest* r) { r->set_tenant_id("not a tenant"); },
       grpc::StatusCode::INVALID_ARGUMENT, "tenant_id:"},
      {"tenant not allowed",
       [](v1::GetTokenRequest* r) { r->set_tenant_id("22222222-2222-2222-2222-222222222222"); },
       grpc::StatusCode::PERMISSION_DENIED, "tenant_id:"},
      {"negative min_validity",
       [](v1::GetTokenRequest* r) { r->mutable_min_validity()->set_seconds(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "min_validity:"},
      {"unknown credential", [](v1::GetTokenRequest* r) { r->set_credential("nope"); },
       grpc::StatusCode::NOT_FOUND, "nope"},
      {"broken credential", [](v1::GetTokenRequest* r) { r->set_credential("broken"); },
       grpc::StatusCode::FAILED_PRECONDITION, "must be a GUID"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::GetTokenRequest request = ResourceRequest();
    c.edit(&request);
    v1::GetTokenResponse response;
    grpc::Status status = Token(request, &response);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenServiceImplTest, AllowedTenantOverride) {
  http_.Push(200, TokenReply("[]"));
  v1::GetTokenRequest request = ResourceRequest();
  request.set_tenant_id("fabrikam.onmicrosoft.com");
  v1::GetTokenResponse response;
  ASSERT_TRUE(Token(request, &response).ok());
  EXPECT_THAT(http_.requests()[0].url, HasSubstr("/fabrikam.onmicrosoft.com/oauth2/token"));
}

TEST_F(TokenServiceImplTest, RejectionCarriesTheAadstsCodeAndTheConsentLink) {
  http_.Push(400, R"({"error":"unauthorized_client","error_codes":[700016],)"
                  R"("trace_id":"0d9d6b1c-1c36-4f6a-9c71-7c1b1f1a0000",)"
                  R"("correlation_id":"5f1c2a3b-0000-4c0e-8f2e-111111111111"})");
  v1::GetTokenResponse response;
  grpc::Status status = Token(ResourceRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("AADSTS700016"));
  ErrorDetails details = ErrorDetailsOf(FromGrpcStatus(status));
  EXPECT_EQ(details.reason, "AADSTS700016");
  EXPECT_EQ(details.error, "unauthorized_client");
  EXPECT_EQ(details.trace_id, "0d9d6b1c-1c36-4f6a-9c71-7c1b1f1a0000");
  EXPECT_EQ(details.correlation_id, "5f1c2a3b-0000-4c0e-8f2e-111111111111");
  EXPECT_EQ(details.consent_url, absl::StrCat("https://login.microsoftonline.com/", kTenant,
                                              "/oauth2/authorize?prompt=admin_consent&client_id=",
                                              kClientId, "&response_type=code"));
}

TEST_F(TokenServiceImplTest, ThrottlingIsUnavailableWithRetryInfo) {
  http_.Push(429, "", {{"retry-after", "1"}});
  v1::GetTokenResponse response;
  grpc::Status status = Token(ResourceRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_GE(ErrorDetailsOf(FromGrpcStatus(status)).retry_after, absl::Seconds(1));
}

TEST_F(TokenServiceImplTest, WatchTokenSendsTheTokenAndEndsCleanlyOnShutdown) {
  http_.Push(200, TokenReply(R"(["Event.Write"])"));
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GetTokenResponse>> reader =
      stub_->WatchToken(&context, ResourceRequest());
  v1::GetTokenResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_THAT(response.roles(), ElementsAre("Event.Write"));
  service_->EndWatches();
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(TokenServiceImplTest, WatchTokenWithABadRequestFails) {
  grpc::ClientContext context;
  v1::GetTokenRequest request;  // Neither scopes nor resource.
  std::unique_ptr<grpc::ClientReader<v1::GetTokenResponse>> reader =
      stub_->WatchToken(&context, request);
  v1::GetTokenResponse response;
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TokenServiceImplTest, WatchTokenClientCancelEndsTheStream) {
  http_.Push(200, TokenReply("[]"));
  auto context = std::make_unique<grpc::ClientContext>();
  std::unique_ptr<grpc::ClientReader<v1::GetTokenResponse>> reader =
      stub_->WatchToken(context.get(), ResourceRequest());
  v1::GetTokenResponse response;
  ASSERT_TRUE(reader->Read(&response));
  context->TryCancel();
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(TokenServiceImplTest, DefaultKindIsTheSeedLink) {
  v1::ConsentUrlRequest request;
  request.set_credential("mde");
  std::string url;
  ASSERT_TRUE(Consent(request, &url).ok());
  EXPECT_EQ(url,
            "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id="
            "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code&sso_reload=true");
}

TEST_F(TokenServiceImplTest, AuthorityHostFollowsTheCredential) {
  v1::ConsentUrlRequest request;
  request.set_credential("gov");
  request.set_kind(v1::CONSENT_KIND_V2_ADMIN_CONSENT);
  request.set_tenant_id("fabrikam.onmicrosoft.us");
  request.add_scopes("https://api-gov.securitycenter.microsoft.us/.default");
  std::string url;
  ASSERT_TRUE(Consent(request, &url).ok());
  EXPECT_THAT(url,
              StartsWith("https://login.microsoftonline.us/fabrikam.onmicrosoft.us/v2.0/"
                         "adminconsent?client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope="));
}

TEST_F(TokenServiceImplTest, ConsentErrorsMapToStatusCodes) {
  struct Case {
    const char* name;
    v1::ConsentUrlRequest request;
    grpc::StatusCode code;
    const char* message;
  };
  auto make = [](const char* credential, int kind, const char* tenant) {
    v1::ConsentUrlRequest r;
    r.set_credential(credential);
    r.set_kind(static_cast<v1::ConsentKind>(kind));
    r.set_tenant_id(tenant);
    return r;
  };
  const Case cases[] = {
      {"unknown credential", make("nope", 0, ""), grpc::StatusCode::NOT_FOUND, "nope"},
      {"ambiguous credential", make("", 0, ""), grpc::StatusCode::INVALID_ARGUMENT, "credential:"},
      {"broken credential", make("broken", 0, ""), grpc::StatusCode::FAILED_PRECONDITION,
       "must be a GUID"},
      {"unknown kind", make("mde", 42, ""), grpc::StatusCode::INVALID_ARGUMENT, "kind:"},
      {"malformed tenant", make("mde", 0, "not a tenant"), grpc::StatusCode::INVALID_ARGUMENT,
       "tenant_id:"},
      {"v2 without scopes", make("mde", 3, ""), grpc::StatusCode::INVALID_ARGUMENT, "scopes:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string url;
    grpc::Status status = Consent(c.request, &url);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    EXPECT_EQ(url, "");
  }
}

TEST_F(TokenServiceImplTest, ValidateTokenAnswersInvalidTokensWithTheFailure) {
  grpc::ClientContext empty_context;
  v1::ValidateTokenResponse response;
  grpc::Status status = stub_->ValidateToken(&empty_context, v1::ValidateTokenRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("token:"));

  grpc::ClientContext context;
  v1::ValidateTokenRequest request;
  request.set_token("Bearer not.a.jwt");
  ASSERT_TRUE(stub_->ValidateToken(&context, request, &response).ok());
  EXPECT_FALSE(response.valid());
  EXPECT_EQ(response.failure(), v1::VALIDATION_FAILURE_MALFORMED);
  EXPECT_THAT(response.detail(), Not(HasSubstr("not.a.jwt")));
}

std::shared_ptr<const CallerPolicy> Policy(const std::string& json) {
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(json, "policy.json");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? std::make_shared<const CallerPolicy>(*std::move(policy)) : nullptr;
}

// In-process calls are neither Unix socket nor TLS calls: the policy sees them as "tcp".
constexpr char kInProcessPolicy[] = R"({"rules": [{
    "name": "in-process",
    "callers": ["tcp"],
    "credentials": ["mde"],
    "tenants": ["11111111-1111-1111-1111-111111111111"],
    "resources": ["https://api.securitycenter.microsoft.com"]}]})";

TEST_F(TokenServiceImplTest, PolicyAllowsWhatTheCallersRuleAllowsAndDeniesTheRest) {
  service_->SetPolicy(Policy(kInProcessPolicy));
  http_.Push(200, TokenReply("[]"));
  v1::GetTokenResponse response;
  ASSERT_TRUE(Token(ResourceRequest(), &response).ok());

  struct Denied {
    const char* what;
    v1::GetTokenRequest request;
    const char* names;
  };
  v1::GetTokenRequest other_credential = ResourceRequest();
  other_credential.set_credential("gov");
  v1::GetTokenRequest other_tenant = ResourceRequest();
  other_tenant.set_tenant_id("fabrikam.onmicrosoft.com");  // In --allowed-tenants.
  v1::GetTokenRequest scope;
  scope.set_credential("mde");
  scope.add_scopes("api://other/.default");
  v1::GetTokenRequest other_resource = ResourceRequest();
  other_resource.set_resource("https://graph.microsoft.com");
  v1::GetTokenRequest default_credential = ResourceRequest();
  default_credential.clear_credential();  // Two credentials: no default, NOT_FOUND first.
  const Denied cases[] = {
      {"credential", other_credential, "credential \"gov\""},
      {"tenant", other_tenant, "tenant \"fabrikam.onmicrosoft.com\""},
      {"scope", scope, "scope \"api://other/.default\""},
      {"resource", other_resource, "resource \"https://graph.microsoft.com\""},
  };
  for (const Denied& c : cases) {
    SCOPED_TRACE(c.what);
    grpc::Status status = Token(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("policy.json"), HasSubstr("rule \"in-process\""),
                      HasSubstr(c.names), HasSubstr("a loopback TCP caller")));
  }
  // The request is resolved and checked before the policy looks at it.
  v1::GetTokenRequest both = ResourceRequest();
  both.add_scopes("api://x/.default");
  EXPECT_EQ(Token(both, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetTokenRequest unknown = ResourceRequest();
  unknown.set_credential("nope");
  EXPECT_EQ(Token(unknown, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  // Denied requests never reach the cache, let alone the identity provider.
  EXPECT_EQ(http_.request_count(), 1u);

  // WatchToken is gated likewise.
  grpc::ClientContext watch_context;
  std::unique_ptr<grpc::ClientReader<v1::GetTokenResponse>> reader =
      stub_->WatchToken(&watch_context, other_credential);
  EXPECT_FALSE(reader->Read(&response));
  grpc::Status watch = reader->Finish();
  EXPECT_EQ(watch.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(watch.error_message(), HasSubstr("credential \"gov\""));

  // ConsentUrl and ValidateToken issue no token: not gated.
  v1::ConsentUrlRequest consent;
  consent.set_credential("gov");
  std::string url;
  EXPECT_TRUE(Consent(consent, &url).ok());
  grpc::ClientContext validate_context;
  v1::ValidateTokenRequest validate;
  validate.set_token("not.a.jwt");
  v1::ValidateTokenResponse validated;
  EXPECT_TRUE(stub_->ValidateToken(&validate_context, validate, &validated).ok());

  // Without the policy, every caller may again get every token.
  service_->SetPolicy(nullptr);
  http_.Push(200, TokenReply("[]"));
  EXPECT_TRUE(Token(other_credential, &response).ok());
}

TEST_F(TokenServiceImplTest, PolicyWithoutARuleForTheCallerDeniesEverything) {
  service_->SetPolicy(Policy(R"({"rules": [{"name": "sidecar", "callers": ["unix"],
      "credentials": ["*"], "tenants": ["*"], "scopes": ["*"], "resources": ["*"]}]})"));
  v1::GetTokenResponse response;
  grpc::Status status = Token(ResourceRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("no rule names a loopback TCP caller"));
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenServiceImplTest, AllowListConcernsMtlsCallersOnly) {
  // In-process callers present no certificate: --tls-allowed-clients does not apply to them
  // (the mTLS side is tested end to end in tls_policy_integration_test).
  TokenServiceOptions options;
  options.authority_host = "https://login.microsoftonline.com";
  options.allowed_clients = {"dns:reader.sec.svc"};
  TokenServiceImpl service(store_, cache_, *validator_, options);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::TokenService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  http_.Push(200, TokenReply("[]"));
  grpc::ClientContext context;
  v1::GetTokenResponse response;
  EXPECT_TRUE(stub->GetToken(&context, ResourceRequest(), &response).ok());
  server->Shutdown();
}

}  // namespace
}  // namespace tokend
