#include "service/config/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "config_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    secrets_ = dir_ + "/secrets";
    std::filesystem::create_directory(secrets_);
    cert_ = dir_ + "/tls.crt";
    std::ofstream(cert_) << "not checked here";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<ParsedCommandLine> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "--secrets-dir=" + secrets_);
    return ParseCommandLine(args, [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }
  absl::StatusOr<Config> Run(std::vector<std::string> args) {
    absl::StatusOr<ParsedCommandLine> parsed = Parse(std::move(args));
    if (!parsed.ok()) return parsed.status();
    return parsed->config;
  }

  std::string dir_, secrets_, cert_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, Defaults) {
  absl::StatusOr<Config> config = Run({});
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->listen.size(), 1u);
  EXPECT_EQ(config->listen[0].kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(config->listen[0].path, "/run/tokend/tokend.sock");
  EXPECT_EQ(config->socket_mode, 0660);
  EXPECT_EQ(config->cloud, Cloud::kPublic);
  EXPECT_EQ(config->authority_host, "https://login.microsoftonline.com");
  EXPECT_EQ(config->region, "");
  EXPECT_EQ(config->clock_skew, absl::Minutes(5));
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(10));
  EXPECT_EQ(config->token_requests_per_minute, 12);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_EQ(config->tls.refresh_interval, absl::Minutes(1));
  EXPECT_TRUE(config->tls.allowed_clients.empty());
  EXPECT_EQ(config->policy_file, "");
  EXPECT_FALSE(config->any_tenant);
}

TEST_F(ConfigTest, EveryFlag) {
  absl::StatusOr<Config> config = Run({
      "--listen=unix:///tmp/t/tokend.sock, 127.0.0.1:0,[::1]:5000",
      "--socket-mode=0600",
      "--metrics-listen=127.0.0.1:9464",
      "--authority-host=http://127.0.0.1:8080/",
      "--audiences=https://api.securitycenter.microsoft.com,api://x",
      "--allowed-tenants=contoso.onmicrosoft.com,11111111-1111-1111-1111-111111111111",
      "--clock-skew=90s",
      "--shutdown-grace=2s",
      "--token-requests-per-minute=30",
      "--log-level=debug",
  });
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->listen.size(), 3u);
  EXPECT_EQ(config->listen[1].GrpcAddress(), "127.0.0.1:0");
  EXPECT_EQ(config->listen[2].GrpcAddress(), "[::1]:5000");
  EXPECT_EQ(config->socket_mode, 0600);
  EXPECT_EQ(config->metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(config->authority_host, "http://127.0.0.1:8080");
  EXPECT_THAT(config->audiences,
              ElementsAre("https://api.securitycenter.microsoft.com", "api://x"));
  EXPECT_THAT(config->allowed_tenants,
              ElementsAre("contoso.onmicrosoft.com", "11111111-1111-1111-1111-111111111111"));
  EXPECT_EQ(config->clock_skew, absl::Seconds(90));
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(2));
  EXPECT_EQ(config->token_requests_per_minute, 30);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
}

TEST_F(ConfigTest, EnvironmentVariablesAndFlagPrecedence) {
  env_["TOKEND_CLOCK_SKEW"] = "1m";
  env_["TOKEND_ALLOWED_TENANTS"] = "*";
  absl::StatusOr<Config> config = Run({});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->clock_skew, absl::Minutes(1));
  EXPECT_TRUE(config->any_tenant);
  config = Run({"--clock-skew=2m"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->clock_skew, absl::Minutes(2));
}

TEST_F(ConfigTest, SecretsDirFromTheEnvironment) {
  env_["TOKEND_SECRETS_DIR"] = "/nonexistent/tokend-secrets";
  absl::StatusOr<ParsedCommandLine> parsed =
      ParseCommandLine({}, [this](const char* name) -> const char* {
        auto it = env_.find(name);
        return it == env_.end() ? nullptr : it->second.c_str();
      });
  EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("TOKEND_SECRETS_DIR (environment)"),
                                     HasSubstr("/nonexistent/tokend-secrets"),
                                     HasSubstr("does not exist"))));
}

TEST_F(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(Parse({"--help"})->action, ParsedCommandLine::Action::kHelp);
  EXPECT_EQ(Parse({"--version"})->action, ParsedCommandLine::Action::kVersion);
  std::string usage = Usage();
  for (const char* flag :
       {"--listen", "--metrics-listen", "--secrets-dir", "--authority-host", "--audiences",
        "--allowed-tenants", "--clock-skew", "--log-level", "--shutdown-grace", "--tls-cert-file",
        "--tls-key-file", "--tls-client-ca-file", "--socket-mode", "TOKEND_SECRETS_DIR", "--cloud",
        "TOKEND_CLOUD", "--region", "TOKEND_REGION"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  for (const char* flag : {"--tls-refresh-interval DURATION", "TOKEND_TLS_REFRESH_INTERVAL",
                           "--tls-allowed-clients LIST", "TOKEND_TLS_ALLOWED_CLIENTS",
                           "--policy FILE", "TOKEND_POLICY"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

struct BadCase {
  std::vector<std::string> args;
  std::vector<std::string> must_mention;
};

TEST_F(ConfigTest, BadValuesNameTheFlagAndTheValue) {
  const std::vector<BadCase> cases = {
      {{"--bogus"}, {"unknown flag --bogus"}},
      {{"--clock-skew"}, {"--clock-skew needs a value"}},
      {{"--clock-skew=5 minutes"}, {"--clock-skew", "5 minutes", "not a duration"}},
      {{"--clock-skew=-1s"}, {"--clock-skew", "-1s", "negative"}},
      {{"--clock-skew=11m"}, {"--clock-skew", "11m", "at most 10m"}},
      {{"--shutdown-grace=soon"}, {"--shutdown-grace", "soon"}},
      {{"--token-requests-per-minute=0"}, {"--token-requests-per-minute", "\"0\"", "1 to 600"}},
      {{"--token-requests-per-minute=lots"}, {"--token-requests-per-minute", "lots"}},
      {{"--listen=127.0.0.1"}, {"--listen", "127.0.0.1", "needs a port"}},
      {{"--listen=127.0.0.1:99999"}, {"--listen", "99999", "0 to 65535"}},
      {{"--listen=unix://relative.sock"}, {"--listen", "absolute path"}},
      {{"--listen=http://127.0.0.1:80"}, {"--listen", "unsupported scheme"}},
      {{"--listen=::1:80"}, {"--listen", "brackets"}},
      {{"--listen="}, {"--listen", "at least one address"}},
      {{"--listen=0.0.0.0:50051"}, {"--listen", "0.0.0.0:50051", "TLS", "--tls-cert-file"}},
      {{"--listen=10.1.2.3:50051"}, {"--listen", "10.1.2.3:50051", "TLS"}},
      {{"--socket-mode=0777"}, {"--socket-mode", "0777", "0600 or 0660"}},
      {{"--metrics-listen=unix:///x"}, {"--metrics-listen", "HOST:PORT"}},
      {{"--authority-host=http://login.microsoftonline.com"}, {"--authority-host", "https"}},
      {{"--authority-host=login.microsoftonline.com"}, {"--authority-host"}},
      {{"--allowed-tenants=contoso"}, {"--allowed-tenants", "contoso"}},
      {{"--cloud=germany"}, {"--cloud", "germany", "must be public, usgov or china"}},
      {{"--cloud=usgov", "--authority-host=https://login.microsoftonline.us"},
       {"--cloud and --authority-host: give one"}},
      {{"--region=West US 2"}, {"--region", "West US 2", "not an Azure region name"}},
      {{"--region=westus2", "--authority-host=http://127.0.0.1:8080"},
       {"--region", "regional endpoints exist for the Entra ID clouds only",
        "http://127.0.0.1:8080"}},
      {{"--log-level=loud"}, {"--log-level", "loud"}},
      {{"--secrets-dir=/nonexistent/dir"}, {"--secrets-dir", "/nonexistent/dir", "does not exist"}},
      {{"--tls-cert-file=" + cert_}, {"--tls-cert-file and --tls-key-file"}},
      {{"--tls-client-ca-file=" + cert_}, {"--tls-client-ca-file needs"}},
      {{"--tls-cert-file=/nonexistent.crt", "--tls-key-file=" + cert_},
       {"--tls-cert-file", "/nonexistent.crt", "not a readable file"}},
      {{"--tls-refresh-interval=500ms"}, {"--tls-refresh-interval", "500ms", "at least 1s"}},
      {{"--tls-refresh-interval=often"}, {"--tls-refresh-interval", "often", "not a duration"}},
      {{"--tls-refresh-interval=25h"}, {"--tls-refresh-interval", "25h", "at most 24h"}},
      {{"--tls-cert-file=" + cert_, "--tls-key-file=" + cert_, "--tls-client-ca-file=" + cert_,
        "--tls-allowed-clients=uri:spiffe://a/b,unix"},
       {"--tls-allowed-clients", "\"unix\"", "uri:VALUE or dns:VALUE"}},
      {{"--tls-cert-file=" + cert_, "--tls-key-file=" + cert_, "--tls-client-ca-file=" + cert_,
        "--tls-allowed-clients=spiffe://a/b"},
       {"--tls-allowed-clients", "spiffe://a/b", "uri:VALUE or dns:VALUE"}},
      {{"--tls-cert-file=" + cert_, "--tls-key-file=" + cert_, "--tls-client-ca-file=" + cert_,
        "--tls-allowed-clients=dns:"},
       {"--tls-allowed-clients", "\"dns:\"", "empty value"}},
      {{"--tls-cert-file=" + cert_, "--tls-key-file=" + cert_,
        "--tls-allowed-clients=dns:reader.sec.svc"},
       {"--tls-allowed-clients needs --tls-client-ca-file"}},
      {{"--policy=/nonexistent/policy.json"},
       {"--policy", "/nonexistent/policy.json", "not a readable file"}},
      {{"stray"}, {"unexpected argument"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.args[0]);
    absl::StatusOr<Config> config = Run(c.args);
    ASSERT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
    for (const std::string& text : c.must_mention) {
      EXPECT_THAT(std::string(config.status().message()), HasSubstr(text));
    }
  }
}

TEST_F(ConfigTest, CloudPicksTheAuthorityHost) {
  const struct {
    const char* cloud;
    Cloud want;
    const char* host;
  } cases[] = {
      {"public", Cloud::kPublic, "https://login.microsoftonline.com"},
      {"usgov", Cloud::kUsGov, "https://login.microsoftonline.us"},
      {"china", Cloud::kChina, "https://login.partner.microsoftonline.cn"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.cloud);
    absl::StatusOr<Config> config = Run({std::string("--cloud=") + test.cloud});
    ASSERT_THAT(config, IsOk());
    EXPECT_EQ(config->cloud, test.want);
    // Consent links and every credential without its own authority-host use this host.
    EXPECT_EQ(config->authority_host, test.host);
  }
}

TEST_F(ConfigTest, CloudAndRegionFromTheEnvironment) {
  env_["TOKEND_CLOUD"] = "usgov";
  env_["TOKEND_REGION"] = "usgovvirginia";
  absl::StatusOr<Config> config = Run({});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->authority_host, "https://login.microsoftonline.us");
  EXPECT_EQ(config->region, "usgovvirginia");
  config = Run({"--cloud=china", "--region=chinanorth3"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->authority_host, "https://login.partner.microsoftonline.cn");
  EXPECT_EQ(config->region, "chinanorth3");
  // --authority-host in the environment and --cloud on the command line: ambiguous.
  env_.clear();
  env_["TOKEND_AUTHORITY_HOST"] = "https://login.microsoftonline.com/";
  EXPECT_THAT(Run({"--cloud=usgov"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--cloud and TOKEND_AUTHORITY_HOST (environment): give one")));
}

TEST_F(ConfigTest, RegionWorksWithACloudAuthorityHost) {
  absl::StatusOr<Config> config =
      Run({"--authority-host=https://login.microsoftonline.com/", "--region=westus2"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->authority_host, "https://login.microsoftonline.com");
  EXPECT_EQ(config->region, "westus2");
  EXPECT_EQ(RegionalAuthority(config->authority_host, config->region),
            "https://westus2.login.microsoft.com");
}

TEST_F(ConfigTest, SecretsDirMustBeAFolder) {
  absl::StatusOr<Config> config = Run({"--secrets-dir=" + cert_});
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a folder")));
}

TEST_F(ConfigTest, TlsRefreshAllowedClientsAndPolicy) {
  const std::string policy = dir_ + "/policy.json";
  std::ofstream(policy) << "{} (the content is checked when tokend starts)";
  absl::StatusOr<Config> config = Run({
      "--listen=0.0.0.0:50051",
      "--tls-cert-file=" + cert_,
      "--tls-key-file=" + cert_,
      "--tls-client-ca-file=" + cert_,
      "--tls-refresh-interval=1s",
      "--tls-allowed-clients=uri:spiffe://cluster.local/ns/sec/sa/reader, dns:reader.sec.svc",
      "--policy=" + policy,
  });
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->tls.client_ca_file, cert_);
  EXPECT_EQ(config->tls.refresh_interval, absl::Seconds(1));
  EXPECT_THAT(config->tls.allowed_clients,
              ElementsAre("uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"));
  EXPECT_EQ(config->policy_file, policy);
}

TEST_F(ConfigTest, TlsAndPolicyFlagsFromTheEnvironment) {
  const std::string policy = dir_ + "/policy.json";
  std::ofstream(policy) << "{}";
  env_["TOKEND_TLS_CERT_FILE"] = cert_;
  env_["TOKEND_TLS_KEY_FILE"] = cert_;
  env_["TOKEND_TLS_CLIENT_CA_FILE"] = cert_;
  env_["TOKEND_TLS_REFRESH_INTERVAL"] = "90s";
  env_["TOKEND_TLS_ALLOWED_CLIENTS"] = "dns:a.example";
  env_["TOKEND_POLICY"] = policy;
  absl::StatusOr<Config> config = Run({});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->tls.refresh_interval, absl::Seconds(90));
  EXPECT_THAT(config->tls.allowed_clients, ElementsAre("dns:a.example"));
  EXPECT_EQ(config->policy_file, policy);
  config = Run({"--tls-refresh-interval=2m", "--tls-allowed-clients=uri:spiffe://x/y"});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->tls.refresh_interval, absl::Minutes(2));
  EXPECT_THAT(config->tls.allowed_clients, ElementsAre("uri:spiffe://x/y"));
  env_["TOKEND_POLICY"] = dir_ + "/missing.json";
  EXPECT_THAT(Run({}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("TOKEND_POLICY (environment)"), HasSubstr("missing.json"),
                             HasSubstr("not a readable file"))));
}

TEST_F(ConfigTest, NonLoopbackWithTlsIsAccepted) {
  absl::StatusOr<Config> config =
      Run({"--listen=0.0.0.0:50051", "--tls-cert-file=" + cert_, "--tls-key-file=" + cert_});
  ASSERT_THAT(config, IsOk());
  EXPECT_FALSE(config->listen[0].loopback);
  EXPECT_TRUE(config->tls.enabled());
}

}  // namespace
}  // namespace tokend
