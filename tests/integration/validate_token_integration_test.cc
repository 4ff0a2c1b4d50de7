// ValidateToken end to end: tokens minted by the development identity provider (fetched through
// tokend's own GetToken), validated by the real tokend binary, which discovers the issuer and
// fetches the keys from the provider over real HTTP.
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

using testing::kClientId;
using testing::kDefender;
using testing::kTenant;

constexpr char kTestApp[] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

class ValidateTokenTest : public testing::TokendFixture {
 protected:
  void SetUp() override {
    TokendFixture::SetUp();
    StartTokend({absl::StrCat("--audiences=", kDefender, ",", kTestApp),
                 // FreshToken() asks for a brand-new token each time.
                 "--token-requests-per-minute=600"});
  }

  std::string FreshToken(bool v2 = false) {
    v1::GetTokenRequest request;
    if (v2) {
      request.add_scopes("api://tokend-test/.default");
    } else {
      request.set_resource(kDefender);
    }
    request.set_force_refresh(true);
    absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(request);
    EXPECT_THAT(token, IsOk());
    return token.ok() ? token->access_token() : "";
  }

  v1::ValidateTokenResponse Validate(const std::string& token,
                                     std::vector<std::string> roles = {}) {
    v1::ValidateTokenRequest request;
    request.set_token(token);
    for (const std::string& role : roles) request.add_required_roles(role);
    absl::StatusOr<v1::ValidateTokenResponse> response = client_->ValidateToken(request);
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::ValidateTokenResponse();
  }

  int64_t KeysRequests() { return idp_->counters().ToJson()["keys_requests"].get<int64_t>(); }
};

TEST_F(ValidateTokenTest, ValidV1AndV2TokensWithTheirClaims) {
  v1::ValidateTokenResponse v1_answer =
      Validate("Bearer " + FreshToken(), {"Ti.ReadWrite", "Event.Write"});
  EXPECT_TRUE(v1_answer.valid()) << v1_answer.detail();
  EXPECT_EQ(v1_answer.claims().tenant_id(), kTenant);
  EXPECT_EQ(v1_answer.claims().app_id(), kClientId);
  EXPECT_EQ(v1_answer.claims().version(), "1.0");
  EXPECT_EQ(v1_answer.claims().issuer(), absl::StrCat("https://sts.windows.net/", kTenant, "/"));
  EXPECT_THAT(v1_answer.claims().audiences(), ElementsAre(kDefender));
  EXPECT_THAT(v1_answer.claims().roles(),
              ElementsAre("AdvancedQuery.Read.All", "Ti.ReadWrite", "Event.Write"));
  v1::ValidateTokenResponse v2_answer = Validate(FreshToken(/*v2=*/true), {"Test.Read"});
  EXPECT_TRUE(v2_answer.valid()) << v2_answer.detail();
  EXPECT_EQ(v2_answer.claims().version(), "2.0");
}

TEST_F(ValidateTokenTest, FailuresAreAnswersNotErrors) {
  std::string token = FreshToken();
  v1::ValidateTokenResponse missing = Validate(token, {"Machine.Isolate", "Ti.ReadWrite"});
  EXPECT_FALSE(missing.valid());
  EXPECT_EQ(missing.failure(), v1::VALIDATION_FAILURE_MISSING_ROLES);
  EXPECT_THAT(missing.missing_roles(), ElementsAre("Machine.Isolate"));

  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Validate(tampered).failure(), v1::VALIDATION_FAILURE_BAD_SIGNATURE);
  EXPECT_EQ(Validate("not-a-token").failure(), v1::VALIDATION_FAILURE_MALFORMED);

  v1::ValidateTokenRequest other_audience;
  other_audience.set_token(token);
  other_audience.add_audiences("api://someone-else");
  absl::StatusOr<v1::ValidateTokenResponse> answer = client_->ValidateToken(other_audience);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->failure(), v1::VALIDATION_FAILURE_WRONG_AUDIENCE);
  EXPECT_THAT(answer->detail(), Not(HasSubstr(token.substr(0, 40))));
}

TEST_F(ValidateTokenTest, KeyRolloverIsPickedUpWithOneRefetch) {
  ASSERT_TRUE(Validate(FreshToken()).valid());
  int64_t before = KeysRequests();
  ASSERT_THAT(idp_->keys().Rotate(/*retire_old=*/false), IsOk());
  v1::ValidateTokenResponse answer = Validate(FreshToken());  // Signed with the new key.
  EXPECT_TRUE(answer.valid()) << answer.detail();
  EXPECT_EQ(KeysRequests(), before + 1);
  // Another token with the new key needs no fetch at all.
  EXPECT_TRUE(Validate(FreshToken()).valid());
  EXPECT_EQ(KeysRequests(), before + 1);
}

TEST_F(ValidateTokenTest, CachedKeysKeepValidatingWhileTheKeysEndpointIsDown) {
  ASSERT_TRUE(Validate(FreshToken()).valid());
  devidp::Fault down;
  down.endpoint = devidp::FaultEndpoint::kKeys;
  down.kind = devidp::FaultKind::kStatus;
  down.status = 503;
  down.count = -1;
  idp_->faults().Add(down);
  v1::ValidateTokenResponse answer = Validate(FreshToken());
  EXPECT_TRUE(answer.valid()) << answer.detail();
}

TEST_F(ValidateTokenTest, ThousandDistinctTokensConcurrently) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 1000; ++i) tokens.push_back(FreshToken(i % 2 == 1));
  std::atomic<int> right{0};
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < tokens.size(); i = next++) {
        v1::ValidateTokenRequest request;
        request.set_token(tokens[i]);
        absl::StatusOr<v1::ValidateTokenResponse> answer = client_->ValidateToken(request);
        if (answer.ok() && answer->valid() &&
            answer->claims().version() == (i % 2 == 1 ? "2.0" : "1.0")) {
          ++right;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(right, 1000);
}

TEST_F(ValidateTokenTest, TokenctlValidateReadsTheTokenFromStdin) {
  std::string token = FreshToken();
  std::string token_file = dir_ + "/token";
  ASSERT_THAT(testing::WriteFile(token_file, token), IsOk());
  testing::RunResult r =
      testing::Run({"/bin/sh", "-c",
                    absl::StrCat(TOKENCTL_BIN, " --addr=unix://", socket_,
                                 " validate --token - --role Event.Write < ", token_file)},
                   dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["valid"], true);
  EXPECT_EQ(out["claims"]["tenant_id"], kTenant);
  r = testing::Run({"/bin/sh", "-c",
                    absl::StrCat(TOKENCTL_BIN, " --addr=unix://", socket_,
                                 " validate --token - --role Machine.Isolate < ", token_file)},
                   dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["failure"], "VALIDATION_FAILURE_MISSING_ROLES");
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(token)));
}

}  // namespace
}  // namespace tokend
