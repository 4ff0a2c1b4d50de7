// Observability end to end: the real tokend binary with --metrics-listen, driven over its Unix
// socket against the development identity provider; /metrics, /healthz and /readyz read over
// HTTP and the scrape checked value by value and with `promtool check metrics`.
#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::Process;

constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kSecret[] = "dev-secret-1";
constexpr char kDefender[] = "https://api.securitycenter.microsoft.com";

testing::SecretFiles Files(const std::string& client_id = kClientId) {
  return {{"tenant-id", std::string(kTenant) + "\n"},
          {"client-id", client_id + "\n"},
          {"client-secret", std::string(kSecret) + "\n"}};
}

// A scrape as "name{labels}" -> value, labels as Prometheus prints them (sorted by name).
using Samples = std::map<std::string, double>;

Samples ParseExposition(const std::string& text) {
  Samples samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "unreadable line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<devidp::IdpServer>> idp =
        devidp::IdpServer::Start(devidp::IdpConfig::Default(), devidp::IdpServerOptions());
    ASSERT_THAT(idp, IsOk());
    idp_ = *std::move(idp);
    std::string pattern = "/tmp/tokend-mt.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/tokend.sock";
  }
  void TearDown() override {
    if (tokend_ != nullptr) {
      EXPECT_THAT(tokend_->Stderr(), Not(HasSubstr(kSecret))) << "a secret reached the log";
      tokend_.reset();
    }
    idp_->Stop();
    std::filesystem::remove_all(dir_);
  }

  void StartTokend() {
    absl::StatusOr<std::unique_ptr<Process>> p =
        Process::Start({TOKEND_BIN, "--secrets-dir=" + dir_ + "/secrets",
                        "--listen=unix://" + socket_, "--authority-host=" + idp_->listening_url(),
                        "--metrics-listen=127.0.0.1:0", absl::StrCat("--audiences=", kDefender)},
                       dir_);
    ASSERT_THAT(p, IsOk());
    tokend_ = *std::move(p);
    ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"serving metrics\"", absl::Seconds(20)))
        << tokend_->Stderr();
    const std::string log = tokend_->Stderr();
    const std::string marker = "\"msg\":\"serving metrics\",\"address\":\"";
    const size_t at = log.find(marker) + marker.size();
    metrics_address_ = log.substr(at, log.find('"', at) - at);
    absl::StatusOr<std::unique_ptr<TokenClient>> client =
        TokenClient::Create("unix://" + socket_, ClientOptions{absl::Seconds(30)});
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
  }

  // GET `path` on the metrics port: status and body.
  std::pair<int, std::string> Get(const std::string& path) {
    httplib::Client http("http://" + metrics_address_);
    httplib::Result result = http.Get(path.c_str());
    if (!result) return {0, ""};
    return {result->status, result->body};
  }

  Samples Scrape() {
    auto [status, body] = Get("/metrics");
    EXPECT_EQ(status, 200);
    last_scrape_ = body;
    return ParseExposition(body);
  }

  v1::GetTokenRequest Defender() {
    v1::GetTokenRequest request;
    request.set_resource(kDefender);
    return request;
  }

  std::unique_ptr<devidp::IdpServer> idp_;
  std::string dir_;
  std::string socket_;
  std::string metrics_address_;
  std::unique_ptr<Process> tokend_;
  std::unique_ptr<TokenClient> client_;
  std::string last_scrape_;
};

TEST_F(MetricsTest, ScrapeCountsEveryCallMade) {
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", Files()), IsOk());
  StartTokend();
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(20)));

  // 5 GetToken: 1 miss (one token request), 4 hits; 1 refused (neither scopes nor resource).
  std::string token;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<v1::GetTokenResponse> response = client_->GetToken(Defender());
    ASSERT_THAT(response, IsOk());
    token = response->access_token();
  }
  EXPECT_FALSE(client_->GetToken(v1::GetTokenRequest()).ok());
  // 3 valid, 2 malformed, 1 missing a role.
  v1::ValidateTokenRequest validate;
  validate.set_token(token);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_->ValidateToken(validate)->valid());
  v1::ValidateTokenRequest malformed;
  malformed.set_token("not.a.jwt");
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(client_->ValidateToken(malformed)->valid());
  v1::ValidateTokenRequest needs_role = validate;
  needs_role.add_required_roles("Machine.Isolate");
  ASSERT_FALSE(client_->ValidateToken(needs_role)->valid());
  // 2 consent links.
  v1::ConsentUrlRequest consent;
  consent.set_tenant_id("contoso.onmicrosoft.com");
  for (int i = 0; i < 2; ++i) ASSERT_THAT(client_->ConsentUrl(consent), IsOk());

  Samples s = Scrape();
  EXPECT_EQ(s[R"(tokend_grpc_requests_total{code="OK",method="GetToken"})"], 5);
  EXPECT_EQ(s[R"(tokend_grpc_requests_total{code="INVALID_ARGUMENT",method="GetToken"})"], 1);
  EXPECT_EQ(s[R"(tokend_grpc_requests_total{code="OK",method="ValidateToken"})"], 6);
  EXPECT_EQ(s[R"(tokend_grpc_requests_total{code="OK",method="ConsentUrl"})"], 2);
  EXPECT_EQ(s[R"(tokend_grpc_request_duration_seconds_count{method="GetToken"})"], 6);
  EXPECT_EQ(s[R"(tokend_grpc_request_duration_seconds_bucket{method="GetToken",le="+Inf"})"], 6);
  EXPECT_GT(s[R"(tokend_grpc_request_duration_seconds_sum{method="GetToken"})"], 0);
  EXPECT_EQ(s[R"(tokend_token_cache_requests_total{credential="mde",result="hit"})"], 4);
  EXPECT_EQ(s[R"(tokend_token_cache_requests_total{credential="mde",result="miss"})"], 1);
  EXPECT_EQ(s[R"(tokend_token_renewals_total{credential="mde",outcome="success"})"], 1);
  EXPECT_EQ(s[R"(tokend_token_cache_entries)"], 1);
  const double until_expiry = s[R"(tokend_token_min_seconds_until_expiry{credential="mde"})"];
  EXPECT_GT(until_expiry, 3000);
  EXPECT_LE(until_expiry, 3600);
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="token",error="",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="discovery",error="",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="keys",error="",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_idp_request_duration_seconds_count{endpoint="token"})"], 1);
  EXPECT_EQ(s[R"(tokend_validations_total{failure="none",result="valid"})"], 3);
  EXPECT_EQ(s[R"(tokend_validations_total{failure="malformed",result="invalid"})"], 2);
  EXPECT_EQ(s[R"(tokend_validations_total{failure="missing_roles",result="invalid"})"], 1);
  EXPECT_EQ(s[R"(tokend_key_fetches_total{document="discovery",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_key_fetches_total{document="keys",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_keys_held)"], 1);
  EXPECT_EQ(s[R"(tokend_key_sets)"], 1);
  EXPECT_GE(s[R"(tokend_key_set_age_seconds)"], 0);
  EXPECT_EQ(s[R"(tokend_secret_reloads_total{credential="mde",result="success"})"], 1);
  EXPECT_EQ(s[R"(tokend_credential_up{credential="mde"})"], 1);
  EXPECT_GT(s[R"(tokend_secret_loaded_timestamp_seconds{credential="mde"})"], 1.7e9);
  EXPECT_EQ(s[R"(tokend_build_info{version="0.1.0"})"], 1);
  // Labels carry no token or request text.
  EXPECT_THAT(last_scrape_, Not(HasSubstr(token.substr(0, 40))));
  EXPECT_THAT(last_scrape_, Not(HasSubstr("contoso")));
  EXPECT_THAT(last_scrape_, Not(HasSubstr(kDefender)));

  // promtool (Debian's prometheus package) accepts the exposition as is.
  const std::string file = dir_ + "/scrape.txt";
  ASSERT_THAT(testing::WriteFile(file, last_scrape_), IsOk());
  const std::string command = absl::StrCat("promtool check metrics < ", file, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  EXPECT_EQ(pclose(pipe), 0) << "promtool check metrics: " << output;
}

TEST_F(MetricsTest, IdentityProviderTroubleIsCountedByOutcome) {
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", Files()), IsOk());
  StartTokend();
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(20)));
  devidp::Fault throttled;
  throttled.endpoint = devidp::FaultEndpoint::kToken;
  throttled.status = 429;
  throttled.retry_after_seconds = 0;
  idp_->faults().Add(throttled);
  devidp::Fault failing;
  failing.endpoint = devidp::FaultEndpoint::kToken;
  failing.status = 503;
  idp_->faults().Add(failing);
  // Two transient failures, then success on the third attempt (backoff 0.5 s, 1 s).
  ASSERT_THAT(client_->GetToken(Defender()), IsOk());
  // A rejected configuration: a wrong client secret.
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/mde",
                                          {{"tenant-id", std::string(kTenant) + "\n"},
                                           {"client-id", std::string(kClientId) + "\n"},
                                           {"client-secret", "wrong-secret\n"}}),
              IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(20), 2));
  v1::GetTokenRequest fresh = Defender();
  fresh.set_force_refresh(true);
  EXPECT_FALSE(client_->GetToken(fresh).ok());

  Samples s = Scrape();
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="token",error="",outcome="throttled"})"], 1);
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="token",error="",outcome="server_error"})"], 1);
  EXPECT_EQ(
      s[R"(tokend_idp_requests_total{endpoint="token",error="invalid_client",outcome="client_error"})"],
      1);
  EXPECT_EQ(s[R"(tokend_idp_requests_total{endpoint="token",error="",outcome="ok"})"], 1);
  EXPECT_EQ(s[R"(tokend_token_renewals_total{credential="mde",outcome="transient_failure"})"], 2);
  EXPECT_EQ(s[R"(tokend_token_renewals_total{credential="mde",outcome="success"})"], 1);
  EXPECT_EQ(s[R"(tokend_token_renewals_total{credential="mde",outcome="rejected"})"], 1);
  EXPECT_EQ(s[R"(tokend_grpc_requests_total{code="FAILED_PRECONDITION",method="GetToken"})"], 1);
  EXPECT_EQ(s[R"(tokend_secret_reloads_total{credential="mde",result="success"})"], 2);
  EXPECT_THAT(last_scrape_, Not(HasSubstr("wrong-secret")));
}

TEST_F(MetricsTest, ReadyzAndHealthFollowTheCredentials) {
  // One good credential and one whose client id is not a GUID.
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/mde", Files()), IsOk());
  ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/broken", Files("not-a-guid")), IsOk());
  StartTokend();
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential unusable\"", absl::Seconds(20)));

  EXPECT_EQ(Get("/healthz"), std::make_pair(200, std::string("ok\n")));
  // The log line comes before the health update: wait for the load to finish.
  for (int i = 0; i < 100 && absl::StrContains(Get("/readyz").second, "not been read"); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto [status, body] = Get("/readyz");
  EXPECT_EQ(status, 503);
  EXPECT_THAT(body, HasSubstr("credential broken is failing"));
  EXPECT_THAT(client_->Health(), testing::IsOkAndHolds(HealthStatus::kNotServing));
  Samples s = Scrape();
  EXPECT_EQ(s[R"(tokend_credential_up{credential="broken"})"], 0);
  EXPECT_EQ(s[R"(tokend_credential_up{credential="mde"})"], 1);
  EXPECT_EQ(s[R"(tokend_secret_reloads_total{credential="broken",result="failure"})"], 1);
  // The good credential still serves tokens.
  EXPECT_THAT(client_->GetToken(Defender()), IsOk());

  // The Secret is fixed, as a kubelet would swap it in: ready again.
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/secrets/broken", Files()), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"credential\":\"broken\"", absl::Seconds(20), 2));
  for (int i = 0; i < 100 && Get("/readyz").first != 200; ++i) {
    absl::SleepFor(absl::Milliseconds(50));  // The reload and the health update race the GET.
  }
  EXPECT_EQ(Get("/readyz"), std::make_pair(200, std::string("ready\n")));
  EXPECT_THAT(client_->Health(), testing::IsOkAndHolds(HealthStatus::kServing));
  EXPECT_EQ(Scrape()[R"(tokend_credential_up{credential="broken"})"], 1);
  EXPECT_EQ(Get("/nothing-here").first, 404);
}

}  // namespace
}  // namespace tokend
