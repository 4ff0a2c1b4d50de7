// Identity provider faults end to end: the real tokend binary against the development identity
// provider (in process, real HTTP on loopback) while it is down, slow, failing, answering
// garbage, dropping connections, presenting an untrusted certificate, or while tokend's wall
// clock jumps (libfaketime). In each case: no crash, tokend keeps its last good state, the
// caller gets an error (or a validation answer) that names the cause and holds no secret or
// token, and tokend recovers once the fault ends.
//
// The retry policy these tests rely on (service/core/token_cache.h, jwks_cache.cc): a token
// fetch makes at most 4 attempts (TokenCacheOptions::max_attempts) with exponential backoff
// from 500 ms, jittered to [50%, 100%] of the step, so a failing fetch takes 1.75 s to 3.5 s;
// a transient failure without Retry-After is not remembered (the next caller starts a new
// fetch at once); each HTTP request is cut after 10 s. A cold key set whose fetch failed is not
// fetched again for 10 s (kColdRetryGap): callers in between get KEYS_UNAVAILABLE at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/integration/tokend_fixture.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTestScope[] = "api://tokend-test/.default";
// The audience of kTestScope's (v2) tokens: the test API's application id.
constexpr char kTestApp[] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
constexpr char kFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

// Calls `done` every `every` until it returns true or `timeout` passes; returns its last result.
bool PollUntil(absl::Duration timeout, const std::function<bool()>& done,
               absl::Duration every = absl::Milliseconds(50)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(every);
  }
}

// A loopback TCP port nothing listens on right now.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// True iff something accepts TCP connections on 127.0.0.1:`port`.
bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return connected;
}

// Sets an environment variable of this process for the scope, for the children it starts.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class IdpFaultTest : public TokendFixture {
 protected:
  // A client whose every call has `timeout` as its deadline.
  std::unique_ptr<TokenClient> ClientWithDeadline(absl::Duration timeout) {
    absl::StatusOr<std::unique_ptr<TokenClient>> client =
        TokenClient::Create("unix://" + socket_, ClientOptions{timeout});
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  static v1::GetTokenRequest Scope(const std::string& scope = kTestScope) {
    v1::GetTokenRequest r;
    r.add_scopes(scope);
    return r;
  }

  // The access token for `request`, or "" (with a failure) if there is none.
  std::string TokenFor(const v1::GetTokenRequest& request) {
    absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(request);
    EXPECT_THAT(token, IsOk());
    return token.ok() ? token->access_token() : "";
  }

  // ValidateToken answers for the audiences of both kDefender and kTestScope tokens.
  v1::ValidateTokenResponse Validate(const std::string& token) {
    v1::ValidateTokenRequest request;
    request.set_token(token);
    request.add_audiences(kDefender);
    request.add_audiences(kTestApp);
    absl::StatusOr<v1::ValidateTokenResponse> answer = client_->ValidateToken(request);
    EXPECT_THAT(answer, IsOk()) << "an invalid token is an answer, never an RPC error";
    return answer.ok() ? *answer : v1::ValidateTokenResponse();
  }

  // The message of a failed call holds neither the client secret nor any token.
  void ExpectNothingSecretIn(const absl::Status& status) {
    const std::string message(status.message());
    EXPECT_THAT(message, Not(HasSubstr(kSecret)));
    EXPECT_THAT(message, Not(HasSubstr("eyJ"))) << "a token (or a piece of one) in: " << message;
  }

  void ExpectServing() { EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing)); }
};

// The provider's address refuses connections: a cold GetToken fails UNAVAILABLE after the
// retries, naming the unreachable provider. A transient failure is not remembered, so once a
// provider listens on that address again the very next call gets a token, with no restart.
TEST_F(IdpFaultTest, ProviderDownThenBackOnTheSamePort) {
  StartTokend();
  const int port = idp_->port();
  idp_->Stop();
  ASSERT_FALSE(Accepts(port));

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(
      token, StatusIs(absl::StatusCode::kUnavailable,
                      AllOf(HasSubstr("no valid token"), HasSubstr("identity provider unreachable"),
                            HasSubstr("127.0.0.1"), HasSubstr("Couldn't connect"))));
  EXPECT_EQ(ErrorDetailsOf(token.status()).reason, "IDP_UNAVAILABLE");
  ExpectNothingSecretIn(token.status());
  // Four attempts, with at least 250 + 500 + 1000 ms of backoff between them.
  EXPECT_GE(took, absl::Milliseconds(1700));
  EXPECT_LT(took, absl::Seconds(10));
  ExpectServing();  // Health is about tokend's configuration, not the provider.

  devidp::IdpServerOptions same_port;
  same_port.port = port;
  RestartIdp(devidp::IdpConfig::Default(), same_port);
  absl::StatusOr<v1::GetTokenResponse> recovered = client_->GetToken(Resource());
  ASSERT_THAT(recovered, IsOk());
  EXPECT_FALSE(recovered->from_cache());
  EXPECT_EQ(TokenRequests(), 1);
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
  EXPECT_EQ(TokenRequests(), 1);
}

// The provider answers later than the callers' deadlines: they get DEADLINE_EXCEEDED, but the
// one request goes on, and its token serves the next callers: one token request in all.
TEST_F(IdpFaultTest, ProviderSlowerThanTheCallersDeadline) {
  StartTokend();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kLatency, 0, 1, absl::Seconds(3));
  std::unique_ptr<TokenClient> impatient = ClientWithDeadline(absl::Milliseconds(800));
  ASSERT_NE(impatient, nullptr);
  std::vector<absl::Status> results(4);
  std::vector<std::thread> callers;
  const absl::Time start = absl::Now();
  for (absl::Status& result : results) {
    callers.emplace_back([&] { result = impatient->GetToken(Resource()).status(); });
  }
  for (std::thread& t : callers) t.join();
  const absl::Duration took = absl::Now() - start;
  for (const absl::Status& result : results) {
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  }
  EXPECT_LT(took, absl::Milliseconds(2500)) << "the callers waited beyond their deadline";

  // The request is still under way: a patient caller joins it instead of starting another.
  absl::StatusOr<v1::GetTokenResponse> joined = client_->GetToken(Resource());
  ASSERT_THAT(joined, IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(2900)) << "not the slow request's token";
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
  EXPECT_TRUE(cached->access_token() == joined->access_token());
  EXPECT_EQ(TokenRequests(), 1);
}

// The provider answers later than tokend's own HTTP timeout (10 s): tokend cuts the request,
// logs that it timed out, and retries (SPEC: timeouts are retried), so a caller with a long
// enough deadline still gets a token, after about 10 s rather than after the provider's 13 s.
// The key endpoint is not retried within a call: a cold ValidateToken answers KEYS_UNAVAILABLE
// saying that the request timed out, and the next validation after the fault works.
TEST_F(IdpFaultTest, ProviderSlowerThanTokendsHttpTimeout) {
  StartTokend();
  const std::string token = TokenFor(Resource());
  ASSERT_FALSE(token.empty());
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kLatency, 0, 1, absl::Seconds(13));
  AddFault(devidp::FaultEndpoint::kKeys, devidp::FaultKind::kLatency, 0, 1, absl::Seconds(13));
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::GetTokenResponse> slow;
  absl::Duration slow_took;
  std::thread caller([&] {
    slow = client_->GetToken(Scope());
    slow_took = absl::Now() - start;
  });
  v1::ValidateTokenResponse answer = Validate(token);
  const absl::Duration validate_took = absl::Now() - start;
  caller.join();

  EXPECT_FALSE(answer.valid());
  EXPECT_EQ(answer.failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE) << answer.detail();
  EXPECT_THAT(answer.detail(), AllOf(HasSubstr("keys are unavailable"), HasSubstr(kTenant),
                                     HasSubstr("Timeout was reached")));
  EXPECT_THAT(answer.detail(), Not(HasSubstr(token.substr(0, 40))));
  EXPECT_GE(validate_took, absl::Milliseconds(9500));
  EXPECT_LT(validate_took, absl::Milliseconds(12500));

  ASSERT_THAT(slow, IsOk());
  EXPECT_FALSE(slow->from_cache());
  EXPECT_GE(slow_took, absl::Milliseconds(9500));
  EXPECT_LT(slow_took, absl::Milliseconds(12500)) << "the hung request was not cut at 10 s";
  EXPECT_TRUE(tokend_->WaitForStderr("Timeout was reached", absl::Seconds(1), 2))
      << tokend_->Stderr();
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"token request failed\""));

  // The key set's failed fetch started 10 s ago: the next validation fetches again.
  EXPECT_TRUE(PollUntil(absl::Seconds(3), [&] { return Validate(token).valid(); }));
  EXPECT_EQ(IdpCounter("keys_requests"), 2);
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Scope());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
}

// 5xx: retried within the call (a short outage is invisible to the caller); a lasting one is
// UNAVAILABLE after exactly max_attempts (4) requests, naming the HTTP status and Entra's code
// (or the status alone when a gateway sends no OAuth error); cached tokens are still served,
// and the next call after the outage works.
TEST_F(IdpFaultTest, ServerErrorsAreRetriedThenUnavailableThenRecover) {
  StartTokend();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kStatus, 502, 2);
  absl::StatusOr<v1::GetTokenResponse> first = client_->GetToken(Resource());
  ASSERT_THAT(first, IsOk()) << "two 502s are retried within the call";
  EXPECT_EQ(TokenRequests(), 3);

  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kStatus, 500, -1);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::GetTokenResponse> failed = client_->GetToken(Scope());
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr("identity provider is failing (HTTP 500)"),
                                     HasSubstr("AADSTS90033"))));
  EXPECT_EQ(ErrorDetailsOf(failed.status()).reason, "AADSTS90033");
  ExpectNothingSecretIn(failed.status());
  EXPECT_EQ(TokenRequests(), 3 + 4);
  EXPECT_GE(took, absl::Milliseconds(1700));
  EXPECT_LT(took, absl::Seconds(10));

  // A gateway's 503 with a body that is no OAuth error: named by its status.
  idp_->faults().Clear();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kMalformedJson, 503, -1);
  absl::StatusOr<v1::GetTokenResponse> gateway = client_->GetToken(Scope());
  EXPECT_THAT(gateway, StatusIs(absl::StatusCode::kUnavailable,
                                HasSubstr("identity provider is failing (HTTP 503)")));
  EXPECT_EQ(ErrorDetailsOf(gateway.status()).reason, "HTTP_503");
  ExpectNothingSecretIn(gateway.status());
  EXPECT_EQ(TokenRequests(), 3 + 4 + 4);

  // The last good state: the token obtained before the outage.
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->access_token() == first->access_token());
  ExpectServing();

  idp_->faults().Clear();
  absl::StatusOr<v1::GetTokenResponse> recovered = client_->GetToken(Scope());
  ASSERT_THAT(recovered, IsOk());
  EXPECT_FALSE(recovered->from_cache());
  EXPECT_EQ(TokenRequests(), 3 + 4 + 4 + 1);
}

// A 200 whose body is cut-off JSON from the token endpoint: UNAVAILABLE after the retries,
// saying that the reply is not JSON (without echoing it: it starts like a token); the next call
// after the fault gets a token. (Bad JSON from discovery: ColdTenantKeysUnavailableThenRecover.)
TEST_F(IdpFaultTest, MalformedJsonFromTheTokenEndpoint) {
  StartTokend();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kMalformedJson, 0, 1);
  absl::StatusOr<v1::GetTokenResponse> first = client_->GetToken(Resource());
  ASSERT_THAT(first, IsOk()) << "one bad reply is retried within the call";
  EXPECT_EQ(TokenRequests(), 2);

  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kMalformedJson, 0, -1);
  absl::StatusOr<v1::GetTokenResponse> garbled = client_->GetToken(Scope());
  EXPECT_THAT(garbled, StatusIs(absl::StatusCode::kUnavailable,
                                HasSubstr("identity provider reply is not JSON")));
  ExpectNothingSecretIn(garbled.status());
  EXPECT_EQ(TokenRequests(), 2 + 4);
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"token reply unreadable\""));

  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->access_token() == first->access_token());
  idp_->faults().Clear();
  absl::StatusOr<v1::GetTokenResponse> recovered = client_->GetToken(Scope());
  ASSERT_THAT(recovered, IsOk());
  EXPECT_EQ(TokenRequests(), 2 + 4 + 1);
  ExpectServing();
}

// The provider drops the connection before it answers: retried within the call (once: a token;
// for good: UNAVAILABLE naming the empty reply), and the next call after the fault works.
TEST_F(IdpFaultTest, DroppedConnections) {
  StartTokend();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kDropConnection, 0, 1);
  absl::StatusOr<v1::GetTokenResponse> first = client_->GetToken(Resource());
  ASSERT_THAT(first, IsOk()) << "one dropped connection is retried within the call";
  EXPECT_EQ(TokenRequests(), 2);

  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kDropConnection, 0, -1);
  absl::StatusOr<v1::GetTokenResponse> dropped = client_->GetToken(Scope());
  EXPECT_THAT(dropped,
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("identity provider unreachable"), HasSubstr("127.0.0.1"),
                             AnyOf(HasSubstr("Server returned nothing"),
                                   HasSubstr("Failure when receiving data")))));
  ExpectNothingSecretIn(dropped.status());
  // Four attempts; libcurl itself retries once when a reused keep-alive connection turns out
  // dead, so the provider may see one more.
  EXPECT_GE(TokenRequests(), 2 + 4);
  EXPECT_LE(TokenRequests(), 2 + 5);

  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->access_token() == first->access_token());
  idp_->faults().Clear();
  const int64_t before = TokenRequests();
  absl::StatusOr<v1::GetTokenResponse> recovered = client_->GetToken(Scope());
  ASSERT_THAT(recovered, IsOk());
  EXPECT_EQ(TokenRequests(), before + 1);
  ExpectServing();
}

// The authority is an HTTPS server with a self-signed certificate (openssl s_server): tokend
// refuses it, and says that the certificate was not accepted; everything that needs no provider
// keeps working; pointing the credential at a good provider (its authority-host file) recovers.
TEST_F(IdpFaultTest, UntrustedCertificate) {
  if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/openssl";
  const TestCertificate certificate = MakeCertificate();
  ASSERT_THAT(WriteFile(dir_ + "/tls/cert.pem", certificate.certificate_pem), IsOk());
  ASSERT_THAT(WriteFile(dir_ + "/tls/key.pem", certificate.private_key_pem), IsOk());
  const int port = FreePort();
  ASSERT_GT(port, 0);
  absl::StatusOr<std::unique_ptr<Process>> tls_server = Process::Start(
      {"/usr/bin/openssl", "s_server", "-accept", absl::StrCat("127.0.0.1:", port), "-cert",
       dir_ + "/tls/cert.pem", "-key", dir_ + "/tls/key.pem", "-www", "-quiet"},
      dir_);
  ASSERT_THAT(tls_server, IsOk());
  ASSERT_TRUE(PollUntil(absl::Seconds(10), [&] { return Accepts(port); }))
      << (*tls_server)->Stderr();
  const std::string authority = absl::StrCat("https://127.0.0.1:", port);
  StartTokend({"--authority-host=" + authority});

  // Configuration, not an outage: FAILED_PRECONDITION with libcurl's reason, not retried (an
  // answer well before the four attempts with backoff an outage gets).
  const absl::Time asked = absl::Now();
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  EXPECT_LT(absl::Now() - asked, absl::Milliseconds(1500));
  EXPECT_THAT(token,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("cannot verify the identity provider's TLS "
                                       "certificate"),
                             HasSubstr("127.0.0.1"),
                             HasSubstr("SSL certificate problem: self-signed certificate"),
                             Not(HasSubstr("Couldn't connect")), Not(HasSubstr("Timeout")))));
  ExpectNothingSecretIn(token.status());

  // Nothing else needs the provider.
  ExpectServing();
  v1::ConsentUrlRequest consent;
  consent.set_tenant_id(kTenant);
  absl::StatusOr<std::string> url = client_->ConsentUrl(consent);
  ASSERT_THAT(url, IsOk());
  EXPECT_THAT(*url, ::testing::StartsWith(authority + "/" + kTenant + "/oauth2/authorize?"));
  EXPECT_EQ(Validate("not-a-token").failure(), v1::VALIDATION_FAILURE_MALFORMED);

  // The operator points the credential at a provider tokend trusts.
  SecretFiles fixed = Files();
  fixed["authority-host"] = idp_->listening_url();
  ASSERT_THAT(UpdateSecretVolume(secrets_dir() + "/mde", fixed), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(10), 2))
      << tokend_->Stderr();
  absl::StatusOr<v1::GetTokenResponse> recovered = client_->GetToken(Resource());
  ASSERT_THAT(recovered, IsOk());
  EXPECT_EQ(TokenRequests(), 1);
}

// The key endpoints fail while no keys are cached (a cold tenant): the v1 discovery document
// is cut-off JSON, the v2 keys endpoint answers 503. Each validation answer is KEYS_UNAVAILABLE
// naming the cause; asked again within 10 s of the failed fetch, the same answer comes at once
// without a new request (no hammering; the 5-minute unknown-kid limit is for refetching a set
// that is held, not a cold one); after that gap, with the provider fixed, both are valid.
TEST_F(IdpFaultTest, ColdTenantKeysUnavailableThenRecover) {
  StartTokend();
  const std::string v1_token = TokenFor(Resource());
  const std::string v2_token = TokenFor(Scope());
  ASSERT_FALSE(v1_token.empty());
  ASSERT_FALSE(v2_token.empty());

  const absl::Time failed_at = absl::Now();
  AddFault(devidp::FaultEndpoint::kDiscovery, devidp::FaultKind::kMalformedJson, 0, 1);
  v1::ValidateTokenResponse v1_answer = Validate(v1_token);
  EXPECT_FALSE(v1_answer.valid());
  EXPECT_EQ(v1_answer.failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE) << v1_answer.detail();
  EXPECT_THAT(v1_answer.detail(), AllOf(HasSubstr("keys are unavailable"), HasSubstr(kTenant),
                                        HasSubstr("v1.0"), HasSubstr("discovery document")));
  EXPECT_EQ(v1_answer.claims().tenant_id(), kTenant) << "the claims are read all the same";
  AddFault(devidp::FaultEndpoint::kKeys, devidp::FaultKind::kStatus, 503, -1);
  v1::ValidateTokenResponse v2_answer = Validate(v2_token);
  EXPECT_FALSE(v2_answer.valid());
  EXPECT_EQ(v2_answer.failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE) << v2_answer.detail();
  EXPECT_THAT(v2_answer.detail(),
              AllOf(HasSubstr("keys are unavailable"), HasSubstr(kTenant), HasSubstr("v2.0"),
                    HasSubstr("signing keys from 127.0.0.1"), HasSubstr("HTTP 503")));
  for (const v1::ValidateTokenResponse* answer : {&v1_answer, &v2_answer}) {
    EXPECT_THAT(answer->detail(), AllOf(Not(HasSubstr(v1_token.substr(0, 40))),
                                        Not(HasSubstr(v2_token.substr(0, 40)))));
  }
  EXPECT_EQ(IdpCounter("discovery_requests"), 2);
  EXPECT_EQ(IdpCounter("keys_requests"), 1);
  ExpectServing();

  // Asked again at once: the same answers, from memory.
  EXPECT_EQ(Validate(v1_token).failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE);
  EXPECT_EQ(Validate(v2_token).failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE);
  EXPECT_EQ(IdpCounter("discovery_requests"), 2);
  EXPECT_EQ(IdpCounter("keys_requests"), 1);

  idp_->faults().Clear();
  absl::Time valid_at;
  ASSERT_TRUE(PollUntil(
      absl::Seconds(20),
      [&] {
        v1::ValidateTokenResponse a1 = Validate(v1_token);
        v1::ValidateTokenResponse a2 = Validate(v2_token);
        for (const v1::ValidateTokenResponse* a : {&a1, &a2}) {
          if (!a->valid()) {
            EXPECT_EQ(a->failure(), v1::VALIDATION_FAILURE_KEYS_UNAVAILABLE) << a->detail();
          }
        }
        if (!a1.valid() || !a2.valid()) return false;
        valid_at = absl::Now();
        return true;
      },
      absl::Milliseconds(200)));
  EXPECT_GE(valid_at - failed_at, absl::Milliseconds(9900)) << "refetched within the 10 s gap";
  // One more fetch each: the v1 discovery document (then its keys), the v2 keys.
  EXPECT_EQ(IdpCounter("discovery_requests"), 2 + 1);
  EXPECT_EQ(IdpCounter("keys_requests"), 1 + 2);
  ExpectServing();
}

// Starts tokend with libfaketime preloaded: its wall clock is the real one plus the offset in
// clock_file() ("+0", "+2h", "-2h"), re-read at every call; the monotonic clock is left alone,
// and so is the provider (in this process), which stays on the real clock.
class WallClockJumpTest : public IdpFaultTest {
 protected:
  static constexpr int kLifetime = 12;  // Seconds: renewed in the background after 6 s.

  void SetUp() override {
    if (access(kFaketime, R_OK) != 0) GTEST_SKIP() << kFaketime << " is not installed";
    IdpFaultTest::SetUp();
    devidp::IdpConfig config = devidp::IdpConfig::Default();
    config.token_lifetime_seconds = kLifetime;
    RestartIdp(config, devidp::IdpServerOptions());
    SetOffset("+0");
    // The sanitizer runtime checks that it comes first among the libraries, which a preload
    // defeats; the check is only a warning that interceptors may be bypassed.
    ScopedEnv asan("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1");
    StartTokend({},
                {std::string("LD_PRELOAD=") + kFaketime, "FAKETIME_TIMESTAMP_FILE=" + clock_file(),
                 "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1", "NO_FAKE_STAT=1"});
  }

  std::string clock_file() const { return dir_ + "/faketime"; }
  void SetOffset(const std::string& offset) {
    ASSERT_THAT(WriteFile(clock_file(), offset + "\n"), IsOk());
  }

  // Tokens valid for 5 s (of the provider's 12).
  static v1::GetTokenRequest Short(v1::GetTokenRequest request, bool force_refresh = false) {
    request.mutable_min_validity()->set_seconds(5);
    request.set_force_refresh(force_refresh);
    return request;
  }

  // Validates `token` until the answer is `failure` (tokend's absl::Now() notices a jump within
  // a second or two: it resamples the system clock now and then).
  void WaitForAnswer(const std::string& token, v1::ValidationFailure failure) {
    v1::ValidateTokenResponse last;
    EXPECT_TRUE(PollUntil(
        absl::Seconds(15),
        [&] {
          last = Validate(token);
          return last.failure() == failure;
        },
        absl::Milliseconds(100)))
        << "expected " << v1::ValidationFailure_Name(failure) << ", got "
        << v1::ValidationFailure_Name(last.failure()) << ": " << last.detail();
  }
};

// The token's exp claim, from the provider's (real) clock.
absl::Time ExpClaim(const std::string& token) {
  return absl::FromUnixSeconds(DecodeJwt(token).payload["exp"].get<int64_t>());
}

// tokend schedules on the monotonic clock and keeps token times on the wall clock
// (service/core/clock.h): a cached token's validity is measured on CLOCK_BOOTTIME from when it
// arrived, its renewal timer too, and its reported expires_at is tokend's wall clock at serve
// time plus the validity left. End to end:
// - forward 2 h: ValidateToken judges exp against the jumped clock (EXPIRED); GetToken keeps
//   serving the cached token from memory (its real lifetime has not run out), with expires_at
//   moved with the wall clock (the exp claim + 2 h); nothing came due at once: no renewal
//   storm, no key refresh;
// - back to the real time: the first token validates again; the cached token is served from
//   memory; force_refresh fetches; a cold key is fetched, and its token renewed in the
//   background on schedule;
// - further back (-2 h): nbf is in tokend's future (NOT_YET_VALID); tokens are still served,
//   expires_at moved back with the wall clock.
// Nothing crashes.
TEST_F(WallClockJumpTest, ForwardAndBack) {
  absl::StatusOr<v1::GetTokenResponse> t1 = client_->GetToken(Short(Resource()));
  ASSERT_THAT(t1, IsOk());
  EXPECT_NEAR(t1->expires_at().seconds(), absl::ToUnixSeconds(absl::Now()) + kLifetime, 3);
  EXPECT_TRUE(Validate(t1->access_token()).valid());
  EXPECT_EQ(TokenRequests(), 1);
  const int64_t key_requests = IdpCounter("keys_requests");

  SetOffset("+2h");
  WaitForAnswer(t1->access_token(), v1::VALIDATION_FAILURE_EXPIRED);
  const int64_t requests_at_jump = TokenRequests();
  absl::StatusOr<v1::GetTokenResponse> t2 = client_->GetToken(Short(Resource()));
  ASSERT_THAT(t2, IsOk());
  // t1, or its renewal if the renewal timer (6 s after t1) came first: from memory either way.
  EXPECT_TRUE(t2->from_cache()) << "a token with real validity left was not served from memory";
  EXPECT_LE(requests_at_jump, 2);
  const int64_t jumped_now = absl::ToUnixSeconds(absl::Now() + absl::Hours(2));
  EXPECT_GE(t2->expires_at().seconds(), jumped_now + 4) << "expires_at not moved with the clock";
  EXPECT_LE(t2->expires_at().seconds(), jumped_now + kLifetime + 1);
  EXPECT_NEAR(t2->expires_at().seconds(),
              absl::ToUnixSeconds(ExpClaim(t2->access_token()) + absl::Hours(2)), 2);
  // Its exp claim comes from the provider's (real) clock: expired by tokend's.
  EXPECT_EQ(Validate(t2->access_token()).failure(), v1::VALIDATION_FAILURE_EXPIRED);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::GetTokenResponse> again = client_->GetToken(Short(Resource()));
    ASSERT_THAT(again, IsOk());
    EXPECT_TRUE(again->from_cache());
    EXPECT_GE(again->expires_at().seconds(), absl::ToUnixSeconds(absl::Now() + absl::Hours(2)) + 4);
    absl::SleepFor(absl::Milliseconds(50));
  }
  // No storm: at most the renewal due on schedule (every 6 s); the hourly key refresh did not
  // come due.
  EXPECT_LE(TokenRequests(), requests_at_jump + 1);
  EXPECT_EQ(IdpCounter("keys_requests"), key_requests);

  SetOffset("+0");
  WaitForAnswer(t1->access_token(), v1::VALIDATION_FAILURE_UNSPECIFIED);  // Valid again.
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Short(Resource()));
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
  EXPECT_NEAR(cached->expires_at().seconds(), absl::ToUnixSeconds(ExpClaim(cached->access_token())),
              2);
  EXPECT_TRUE(Validate(cached->access_token()).valid());
  int64_t requests = TokenRequests();
  absl::StatusOr<v1::GetTokenResponse> forced =
      client_->GetToken(Short(Resource(), /*force_refresh=*/true));
  ASSERT_THAT(forced, IsOk());
  EXPECT_FALSE(forced->from_cache());
  EXPECT_GT(TokenRequests(), requests);
  requests = TokenRequests();
  absl::StatusOr<v1::GetTokenResponse> cold = client_->GetToken(Short(Scope()));
  ASSERT_THAT(cold, IsOk());
  EXPECT_FALSE(cold->from_cache());
  EXPECT_NEAR(cold->expires_at().seconds(), absl::ToUnixSeconds(absl::Now()) + kLifetime, 3);
  // Renewed in the background at half its lifetime: the caller gets the new token from memory.
  EXPECT_TRUE(PollUntil(
      absl::Seconds(kLifetime),
      [&] {
        absl::StatusOr<v1::GetTokenResponse> now = client_->GetToken(Short(Scope()));
        return now.ok() && now->from_cache() && now->access_token() != cold->access_token();
      },
      absl::Milliseconds(200)))
      << "not renewed in the background";
  EXPECT_GT(TokenRequests(), requests + 1);

  SetOffset("-2h");
  WaitForAnswer(t1->access_token(), v1::VALIDATION_FAILURE_NOT_YET_VALID);
  requests = TokenRequests();
  for (int i = 0; i < 10; ++i) {
    for (const v1::GetTokenRequest& request : {Short(Resource()), Short(Scope())}) {
      absl::StatusOr<v1::GetTokenResponse> served = client_->GetToken(request);
      ASSERT_THAT(served, IsOk());
      EXPECT_TRUE(served->from_cache());
      // Valid for the 5 s asked, reported on tokend's clock.
      EXPECT_GE(served->expires_at().seconds(),
                absl::ToUnixSeconds(absl::Now() - absl::Hours(2)) + 4);
      EXPECT_NEAR(served->expires_at().seconds(),
                  absl::ToUnixSeconds(ExpClaim(served->access_token()) - absl::Hours(2)), 2);
    }
  }
  EXPECT_LE(TokenRequests(), requests + 2);  // At most the renewals due on schedule, one a key.
  ExpectServing();
  EXPECT_THAT(tokend_->Stderr(), Not(HasSubstr("Sanitizer")));
}

// A token obtained before the wall clock jumps back is still renewed on schedule and never
// served past its real expiry (its validity and renewal timer are measured on the monotonic
// clock from when it arrived), and force_refresh still fetches a new token (a token counts as
// "obtained after the request started" by the monotonic clock, not by wall-clock times).
// SPEC: "Renewed in the background ahead of expiry, so a steady caller never waits";
// force_refresh: "Ignore the cached token and obtain a new one from the identity provider".
TEST_F(WallClockJumpTest, BackStillRenewsAndForceRefreshes) {
  SetOffset("+2h");
  // Wait until tokend's clock is two hours ahead: a token from the provider's (real) clock
  // has expired by it.
  absl::StatusOr<v1::GetTokenResponse> probe = client_->GetToken(Short(Scope()));
  ASSERT_THAT(probe, IsOk());
  WaitForAnswer(probe->access_token(), v1::VALIDATION_FAILURE_EXPIRED);
  absl::StatusOr<v1::GetTokenResponse> before = client_->GetToken(Short(Resource()));
  ASSERT_THAT(before, IsOk());

  SetOffset("+0");
  WaitForAnswer(probe->access_token(), v1::VALIDATION_FAILURE_UNSPECIFIED);
  const int64_t requests = TokenRequests();
  absl::StatusOr<v1::GetTokenResponse> forced =
      client_->GetToken(Short(Resource(), /*force_refresh=*/true));
  ASSERT_THAT(forced, IsOk());
  EXPECT_FALSE(forced->from_cache()) << "force_refresh served the token from memory";
  EXPECT_TRUE(forced->access_token() != before->access_token());
  EXPECT_GT(TokenRequests(), requests);
  // A steady caller is never served a token past its real expiry: renewal at half its life.
  std::set<std::string> seen;
  absl::Time deadline = absl::Now() + absl::Seconds(2 * kLifetime);
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::GetTokenResponse> served = client_->GetToken(Short(Resource()));
    ASSERT_THAT(served, IsOk());
    const absl::Time exp = ExpClaim(served->access_token());
    ASSERT_GT(exp, absl::Now()) << "served a token that expired "
                                << absl::FormatDuration(absl::Now() - exp) << " ago";
    // Reported on tokend's (real again) clock.
    EXPECT_NEAR(served->expires_at().seconds(), absl::ToUnixSeconds(exp), 2);
    seen.insert(served->access_token());
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_GE(seen.size(), 3u) << "not renewed on schedule";
}

}  // namespace
}  // namespace testing
}  // namespace tokend
