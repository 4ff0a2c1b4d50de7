#include "tests/integration/tokend_fixture.h"

#include <stdlib.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/idp_config.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace testing {

using ::testing::HasSubstr;
using ::testing::Not;

void TokendFixture::SetUp() {
  absl::StatusOr<std::unique_ptr<devidp::IdpServer>> idp =
      devidp::IdpServer::Start(devidp::IdpConfig::Default(), devidp::IdpServerOptions());
  ASSERT_THAT(idp, IsOk());
  idp_ = *std::move(idp);
  std::string pattern = "/tmp/tokend-it.XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
  socket_ = dir_ + "/tokend.sock";
  ASSERT_THAT(WriteSecretVolume(secrets_dir() + "/mde", Files()), IsOk());
}

void TokendFixture::TearDown() {
  client_.reset();
  if (tokend_ != nullptr) {
    std::string log = tokend_->Stderr();
    for (const std::string& secret : secrets_used_) {
      EXPECT_THAT(log, Not(HasSubstr(secret))) << "a secret reached the log";
    }
    tokend_.reset();
  }
  if (idp_ != nullptr) idp_->Stop();
  std::error_code ignored;
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ignored);
  std::filesystem::remove_all(dir_, ignored);
}

SecretFiles TokendFixture::Files(const std::string& secret) {
  secrets_used_.push_back(secret);
  return {{"tenant-id", std::string(kTenant) + "\n"},
          {"client-id", std::string(kClientId) + "\n"},
          {"client-secret", secret + "\n"}};
}

void TokendFixture::StartTokend(const std::vector<std::string>& extra,
                                const std::vector<std::string>& env, const std::string& wait_for) {
  std::vector<std::string> args = command_prefix_;
  for (std::string arg :
       {std::string(TOKEND_BIN), "--secrets-dir=" + secrets_dir(), "--listen=unix://" + socket_,
        "--authority-host=" + idp_->listening_url(), std::string("--shutdown-grace=10s")}) {
    args.push_back(std::move(arg));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(args, dir_, env);
  ASSERT_THAT(p, IsOk());
  tokend_ = *std::move(p);
  if (!wait_for.empty()) {
    ASSERT_TRUE(tokend_->WaitForStderr(wait_for, absl::Seconds(20))) << tokend_->Stderr();
  }
  absl::StatusOr<std::unique_ptr<TokenClient>> client =
      TokenClient::Create("unix://" + socket_, ClientOptions{absl::Seconds(30)});
  ASSERT_THAT(client, IsOk());
  client_ = *std::move(client);
}

void TokendFixture::AddFault(devidp::FaultEndpoint endpoint, devidp::FaultKind kind, int status,
                             int count, absl::Duration latency, std::optional<int> retry_after) {
  devidp::Fault fault;
  fault.endpoint = endpoint;
  fault.kind = kind;
  fault.status = status;
  fault.count = count;
  fault.latency = latency;
  if (retry_after.has_value()) fault.retry_after_seconds = *retry_after;
  idp_->faults().Add(fault);
}

int64_t TokendFixture::TokenRequests() {
  return idp_->counters().ToJson()["token_requests"].get<int64_t>();
}

v1::GetTokenRequest TokendFixture::Resource(const std::string& resource) {
  v1::GetTokenRequest r;
  r.set_resource(resource);
  return r;
}

void TokendFixture::RestartIdp(const devidp::IdpConfig& config,
                               const devidp::IdpServerOptions& options) {
  if (idp_ != nullptr) idp_->Stop();
  idp_.reset();
  absl::StatusOr<std::unique_ptr<devidp::IdpServer>> idp =
      devidp::IdpServer::Start(config, options);
  ASSERT_THAT(idp, IsOk());
  idp_ = *std::move(idp);
}

int64_t TokendFixture::IdpCounter(const std::string& name) {
  return idp_->counters().ToJson()[name].get<int64_t>();
}

}  // namespace testing
}  // namespace tokend
