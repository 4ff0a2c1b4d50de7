// TokendFixture: what the end-to-end tests share. Each test gets the development identity
// provider in process on loopback HTTP, a fresh folder with a Secret volume laid out as the
// kubelet does (secrets/mde: tenant-id, client-id, client-secret), and the real tokend binary
// started on a Unix socket in that folder with a client for it. TearDown checks that no secret
// the test used reached tokend's log.
#ifndef TOKEND_TESTS_INTEGRATION_TOKEND_FIXTURE_H_
#define TOKEND_TESTS_INTEGRATION_TOKEND_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/token_client.h"
#include "gtest/gtest.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/testing/secrets_dir.h"

namespace tokend {
namespace testing {

// The development identity provider's default directory (tests/devidp/idp_config.cc).
inline constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
inline constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
inline constexpr char kSecret[] = "dev-secret-1";
inline constexpr char kDefender[] = "https://api.securitycenter.microsoft.com";

class TokendFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The files of the "mde" credential with `secret`, remembered for the log check.
  SecretFiles Files(const std::string& secret = kSecret);

  // Starts tokend with the standard flags (secrets dir, socket, authority = the identity
  // provider, --shutdown-grace=10s) plus `extra`, and the environment plus `env`. Waits for
  // `wait_for` on stderr (none if empty) and connects client_.
  void StartTokend(const std::vector<std::string>& extra = {},
                   const std::vector<std::string>& env = {},
                   const std::string& wait_for = "\"msg\":\"credential loaded\"");

  // Queues a fault at the identity provider.
  void AddFault(devidp::FaultEndpoint endpoint, devidp::FaultKind kind, int status = 0,
                int count = 1, absl::Duration latency = absl::ZeroDuration(),
                std::optional<int> retry_after = std::nullopt);

  // Token requests the identity provider has answered so far.
  int64_t TokenRequests();

  static v1::GetTokenRequest Resource(const std::string& resource = kDefender);

  std::string secrets_dir() const { return dir_ + "/secrets"; }

  std::unique_ptr<devidp::IdpServer> idp_;
  std::string dir_;     // The test's folder (removed by TearDown).
  std::string socket_;  // dir_/tokend.sock.
  std::vector<std::string> secrets_used_;
  std::vector<std::string> command_prefix_;  // Put before tokend's command (e.g. setpriv).
  std::unique_ptr<Process> tokend_;
  std::unique_ptr<TokenClient> client_;

  // Stops the identity provider and starts a new one with `config` and `options`, e.g. with the
  // stopped one's port to bring the provider back at the address tokend uses.
  void RestartIdp(const devidp::IdpConfig& config, const devidp::IdpServerOptions& options);

  // One of the identity provider's request counters (RequestCounters::ToJson), e.g.
  // "keys_requests" or "discovery_requests".
  int64_t IdpCounter(const std::string& name);
};

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_INTEGRATION_TOKEND_FIXTURE_H_
