// GetToken and WatchToken end to end: the real tokend binary against the development identity
// provider over real HTTP on loopback, called through the client library and tokenctl.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/integration/tokend_fixture.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::Process;
using testing::StatusIs;

using testing::kClientId;
using testing::kDefender;
using testing::kSecret;
using testing::kTenant;

constexpr char kOtherTenant[] = "22222222-2222-2222-2222-222222222222";
constexpr char kTestScope[] = "api://tokend-test/.default";

class GetTokenTest : public testing::TokendFixture {
 protected:
  static v1::GetTokenRequest Scope(const std::string& scope = kTestScope) {
    v1::GetTokenRequest r;
    r.add_scopes(scope);
    return r;
  }

  // A fault on the token endpoint.
  void AddFault(devidp::FaultKind kind, int status, int count, absl::Duration latency = {},
                std::optional<int> retry_after = std::nullopt) {
    TokendFixture::AddFault(devidp::FaultEndpoint::kToken, kind, status, count, latency,
                            retry_after);
  }
};

TEST_F(GetTokenTest, V1ResourceTokenWithRolesThenFromCache) {
  StartTokend();
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  ASSERT_THAT(token, IsOk());
  EXPECT_THAT(token->access_token(), ::testing::StartsWith("eyJ"));
  EXPECT_EQ(token->token_type(), "Bearer");
  EXPECT_EQ(token->tenant_id(), kTenant);
  EXPECT_THAT(token->roles(), ElementsAre("AdvancedQuery.Read.All", "Ti.ReadWrite", "Event.Write"));
  EXPECT_FALSE(token->from_cache());
  EXPECT_NEAR(token->expires_at().seconds(), absl::ToUnixSeconds(absl::Now()) + 3599, 30);
  absl::StatusOr<v1::GetTokenResponse> again = client_->GetToken(Resource());
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->from_cache());
  EXPECT_EQ(again->access_token(), token->access_token());
  EXPECT_EQ(TokenRequests(), 1);
}

TEST_F(GetTokenTest, V2ScopeTokenAndAliasResources) {
  StartTokend();
  absl::StatusOr<v1::GetTokenResponse> v2 = client_->GetToken(Scope());
  ASSERT_THAT(v2, IsOk());
  EXPECT_THAT(v2->roles(), ElementsAre("Test.Read"));
  absl::StatusOr<v1::GetTokenResponse> alias =
      client_->GetToken(Resource("https://securitycenter.onmicrosoft.com/windowsatpservice"));
  ASSERT_THAT(alias, IsOk());
  EXPECT_NE(alias->access_token(), v2->access_token());
  EXPECT_EQ(TokenRequests(), 2);
}

TEST_F(GetTokenTest, FiveHundredConcurrentCallersOnAColdKeyMakeOneRequest) {
  StartTokend();
  // Slow the provider so that every caller arrives while the request is in flight.
  AddFault(devidp::FaultKind::kLatency, 0, 1, absl::Milliseconds(500));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 500; ++i) {
    threads.emplace_back([&] {
      if (client_->GetToken(Resource()).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 500);
  EXPECT_EQ(TokenRequests(), 1);
}

TEST_F(GetTokenTest, CachedTokenIsServedWhileTheProviderFails) {
  StartTokend();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  AddFault(devidp::FaultKind::kStatus, 503, -1);
  AddFault(devidp::FaultKind::kDropConnection, 0, -1);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
    ASSERT_THAT(token, IsOk());
    EXPECT_TRUE(token->from_cache());
  }
  // A token nobody has yet cannot be had: UNAVAILABLE after the retries.
  EXPECT_THAT(client_->GetToken(Scope()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 503")));
}

TEST_F(GetTokenTest, ThrottlingStormMakesABoundedNumberOfRequests) {
  StartTokend();
  AddFault(devidp::FaultKind::kStatus, 429, -1, {}, /*retry_after=*/2);
  std::atomic<int> unavailable{0};
  std::vector<std::thread> threads;
  absl::Time end = absl::Now() + absl::Seconds(3);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      while (absl::Now() < end) {
        absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
        if (token.status().code() == absl::StatusCode::kUnavailable) ++unavailable;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_GT(unavailable, 0);
  // 16 callers for 3 seconds, and Retry-After: 2 means at most a couple of requests.
  EXPECT_LE(TokenRequests(), 4);
  EXPECT_GE(TokenRequests(), 1);
}

TEST_F(GetTokenTest, WrongSecretIsFailedPreconditionAndNeverLogged) {
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/mde", Files("wrong-secret-Qx7")),
              IsOk());
  StartTokend();
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS7000215")));
  EXPECT_EQ(ErrorDetailsOf(token.status()).reason, "AADSTS7000215");
  EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr("wrong-secret-Qx7")));
  // Remembered: the next calls do not reach the provider.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(client_->GetToken(Resource()).ok());
  EXPECT_EQ(TokenRequests(), 1);
  testing::RunResult r = testing::Run(
      {TOKENCTL_BIN, "--addr=unix://" + socket_, "get-token", "--resource", kDefender}, dir_);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["reason"], "AADSTS7000215");
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("wrong-secret-Qx7")));
}

TEST_F(GetTokenTest, AppMissingFromTenantCarriesTheConsentLink) {
  StartTokend({std::string("--allowed-tenants=") + kOtherTenant});
  v1::GetTokenRequest request = Resource();
  request.set_tenant_id(kOtherTenant);
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(request);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS700016")));
  EXPECT_EQ(ErrorDetailsOf(token.status()).consent_url,
            absl::StrCat(idp_->listening_url(), "/", kOtherTenant,
                         "/oauth2/authorize?prompt=admin_consent&client_id=", kClientId,
                         "&response_type=code"));
  // After the administrator consents, the same call works (once the rejection has lapsed).
  ASSERT_THAT(idp_->directory().SetPresentInTenant(kClientId, kOtherTenant, true), IsOk());
  request.set_force_refresh(true);
  EXPECT_THAT(client_->GetToken(request),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST_F(GetTokenTest, TokenctlGetTokenAndWatch) {
  StartTokend();
  testing::RunResult r = testing::Run(
      {TOKENCTL_BIN, "--addr=unix://" + socket_, "get-token", "--scope", kTestScope}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json token = nlohmann::json::parse(r.out);
  EXPECT_THAT(token["access_token"].get<std::string>(), ::testing::StartsWith("eyJ"));
  EXPECT_EQ(token["roles"], nlohmann::json::array({"Test.Read"}));
  EXPECT_EQ(token["tenant_id"], kTenant);
  r = testing::Run(
      {TOKENCTL_BIN, "--addr=unix://" + socket_, "watch", "--resource", kDefender, "--count=1"},
      dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["roles"].size(), 3u);
  r = testing::Run({TOKENCTL_BIN, "--addr=unix://" + socket_, "get-token"}, dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--scope"));
}

TEST_F(GetTokenTest, SigtermDuringASlowCallLetsItFinish) {
  StartTokend();
  AddFault(devidp::FaultKind::kLatency, 0, 1, absl::Seconds(1));
  absl::StatusOr<v1::GetTokenResponse> result = absl::UnknownError("not run");
  std::thread call([&] { result = client_->GetToken(Resource()); });
  // Wait until the request is at the provider, then ask tokend to stop.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && !absl::StrContains(tokend_->Stderr(), "draining") &&
         idp_->counters().ToJson()["token_requests"].get<int64_t>() == 0) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  tokend_->Signal(SIGTERM);
  call.join();
  EXPECT_THAT(result, IsOk());
  EXPECT_THAT(tokend_->Wait(absl::Seconds(20)), testing::IsOkAndHolds(0));
}

TEST_F(GetTokenTest, WatchStreamEndsCleanlyOnShutdown) {
  StartTokend();
  std::atomic<int> tokens{0};
  absl::Status ended = absl::UnknownError("not ended");
  std::thread watcher([&] {
    ended = client_->WatchToken(Resource(), [&](const v1::GetTokenResponse&) {
      ++tokens;
      return true;
    });
  });
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (tokens == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(tokens, 1);
  tokend_->Signal(SIGTERM);
  watcher.join();
  EXPECT_THAT(ended, IsOk());
  EXPECT_THAT(tokend_->Wait(absl::Seconds(20)), testing::IsOkAndHolds(0));
}

TEST_F(GetTokenTest, SecretRotationUnderLoadFailsNoCallAndUsesTheNewSecret) {
  // One caller asks for brand-new tokens 50 times a second: above the default request limit.
  StartTokend({"--token-requests-per-minute=600"});
  constexpr char kNewSecret[] = "rotated-secret-2";
  secrets_used_.push_back(kNewSecret);
  ASSERT_THAT(idp_->directory().AddSecret(kClientId, devidp::SecretConfig{kNewSecret, false}),
              IsOk());
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  absl::Mutex errors_mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      while (!stop) {
        v1::GetTokenRequest request = Resource();
        request.set_force_refresh(i == 0);  // One caller keeps asking for brand-new tokens.
        absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(request);
        if (token.ok()) {
          ++ok;
        } else {
          ++failed;
          absl::MutexLock lock(&errors_mu);
          errors.push_back(token.status().ToString());
        }
        if (i == 0) absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  // Kubernetes updates the Secret: a new timestamped folder and an atomic ..data swap.
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/mde", Files(kNewSecret)), IsOk());
  absl::StatusOr<std::string> target = testing::DataTarget(dir_ + "/secrets/mde");
  ASSERT_THAT(target, IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr(*target, absl::Seconds(5))) << "rotation not noticed";
  // Entra forgets the old secret: from now on only the new one works.
  ASSERT_THAT(idp_->directory().RemoveSecret(kClientId, kSecret), IsOk());
  int64_t requests_before = TokenRequests();
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed, 0) << absl::StrJoin(errors, "; ");
  EXPECT_GT(ok, 100);
  EXPECT_GT(TokenRequests(), requests_before);  // Fresh tokens kept coming, with the new secret.
  v1::GetTokenRequest fresh = Resource();
  fresh.set_force_refresh(true);
  EXPECT_THAT(client_->GetToken(fresh), IsOk());
}

TEST_F(GetTokenTest, BrokenSecretUpdateKeepsTheLastGoodOne) {
  StartTokend();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  testing::SecretFiles broken = Files("has a space");
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/mde", broken), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("credential update rejected", absl::Seconds(5)))
      << tokend_->Stderr();
  v1::GetTokenRequest fresh = Resource();
  fresh.set_force_refresh(true);
  EXPECT_THAT(client_->GetToken(fresh), IsOk());  // Still signs in with the last good secret.
  EXPECT_THAT(client_->Health(), testing::IsOkAndHolds(HealthStatus::kServing));
}

}  // namespace
}  // namespace tokend
