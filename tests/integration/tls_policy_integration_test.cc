// Trust end to end: the real tokend binary with mTLS on loopback TCP (certificates made here, in
// a Kubernetes-style Secret volume that is rotated), --tls-allowed-clients, and a caller policy
// over the Unix socket, reloaded on SIGHUP; against the development identity provider. Calls go
// through raw gRPC stubs (mTLS) and the client library (Unix socket); /metrics is read over HTTP.
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
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
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "service/common/openssl_ptr.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/integration/process.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::IsOkAndHolds;
using ::testing::Not;
using testing::Process;
using ::testing::StartsWith;
using testing::StatusIs;
using testing::TestCertificate;

constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kOtherTenant[] = "22222222-2222-2222-2222-222222222222";
constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kSecret[] = "dev-secret-1";
constexpr char kDefender[] = "https://api.securitycenter.microsoft.com";
constexpr char kTestScope[] = "api://tokend-test/.default";
constexpr char kReaderUri[] = "spiffe://cluster.local/ns/sec/sa/reader";
constexpr char kIntruderUri[] = "spiffe://cluster.local/ns/other/sa/intruder";

// A scrape as "name{labels}" -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      samples[std::string(line.substr(0, space))] = value;
    }
  }
  return samples;
}

// The serial number (hex) of a PEM certificate; "" if unreadable.
std::string SerialOf(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return "";
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  X509_free(cert);
  char* hex = BN_bn2hex(serial.get());
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

class TlsPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<devidp::IdpServer>> idp =
        devidp::IdpServer::Start(devidp::IdpConfig::Default(), devidp::IdpServerOptions());
    ASSERT_THAT(idp, IsOk());
    idp_ = *std::move(idp);
    std::string pattern = "/tmp/tokend-tp.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/tokend.sock";
    policy_ = dir_ + "/policy.json";
    for (const char* name : {"mde", "other"}) {
      ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/secrets/" + name,
                                             {{"tenant-id", std::string(kTenant) + "\n"},
                                              {"client-id", std::string(kClientId) + "\n"},
                                              {"client-secret", std::string(kSecret) + "\n"}}),
                  IsOk());
    }
    ASSERT_THAT(testing::WriteSecretVolume(dir_ + "/tls", TlsVolume(server_a_)), IsOk());
  }
  void TearDown() override {
    if (tokend_ != nullptr) {
      const std::string log = tokend_->Stderr();
      EXPECT_THAT(log, Not(HasSubstr(kSecret))) << "a secret reached the log";
      for (const TestCertificate* key : {&server_a_, &server_b_, &server_c_}) {
        EXPECT_THAT(log, Not(HasSubstr(KeyLine(*key)))) << "a TLS key reached the log";
      }
      tokend_.reset();
    }
    idp_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // A line of the key's base64 body, which must never be logged.
  static std::string KeyLine(const TestCertificate& certificate) {
    const std::string& pem = certificate.private_key_pem;
    const size_t start = pem.find('\n') + 1;
    return pem.substr(start, pem.find('\n', start) - start);
  }

  testing::SecretFiles TlsVolume(const TestCertificate& server) {
    return {{"tls.crt", server.certificate_pem},
            {"tls.key", server.private_key_pem},
            {"ca.crt", ca_.certificate_pem}};
  }

  std::vector<std::string> TlsArgs() {
    return {"--listen=unix://" + socket_ + ",127.0.0.1:0",
            "--tls-cert-file=" + dir_ + "/tls/tls.crt", "--tls-key-file=" + dir_ + "/tls/tls.key",
            "--tls-client-ca-file=" + dir_ + "/tls/ca.crt"};
  }

  std::vector<std::string> Args(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {TOKEND_BIN, "--secrets-dir=" + dir_ + "/secrets",
                                     "--authority-host=" + idp_->listening_url(),
                                     "--metrics-listen=127.0.0.1:0", "--shutdown-grace=5s"};
    if (std::none_of(extra.begin(), extra.end(),
                     [](const std::string& a) { return absl::StartsWith(a, "--listen="); })) {
      args.push_back("--listen=unix://" + socket_);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  void StartTokend(const std::vector<std::string>& extra) {
    absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(Args(extra), dir_);
    ASSERT_THAT(p, IsOk());
    tokend_ = *std::move(p);
    ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(20), 2))
        << tokend_->Stderr();
    const std::string log = tokend_->Stderr();
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (!absl::StrContains(line, "\"msg\":\"listening\"") &&
          !absl::StrContains(line, "\"msg\":\"serving metrics\"")) {
        continue;
      }
      nlohmann::json event = nlohmann::json::parse(line);
      const std::string address = event["address"];
      if (event["msg"] == "serving metrics") {
        metrics_address_ = address;
      } else if (absl::StartsWith(address, "127.0.0.1:")) {
        tcp_address_ = address;
      }
    }
    absl::StatusOr<std::unique_ptr<TokenClient>> client =
        TokenClient::Create("unix://" + socket_, ClientOptions{absl::Seconds(30)});
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
  }

  // A channel over a new TLS connection to the TCP listener, presenting `client` (if any).
  std::shared_ptr<grpc::Channel> TlsChannel(const TestCertificate* client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ca_.certificate_pem;
    if (client != nullptr) {
      options.pem_cert_chain = client->certificate_pem;
      options.pem_private_key = client->private_key_pem;
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Never reuse another's connection.
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(tcp_address_, grpc::SslCredentials(options), args);
  }

  grpc::Status GetTokenOverMtls(const TestCertificate* client, const v1::GetTokenRequest& request,
                                v1::GetTokenResponse* response) {
    auto stub = v1::TokenService::NewStub(TlsChannel(client));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub->GetToken(&context, request, response);
  }

  // The serial (hex) of the certificate tokend serves a new connection; "" if it fails.
  std::string ServedSerial() {
    auto stub = grpc::health::v1::Health::NewStub(TlsChannel(&reader_));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok()) return "";
    std::vector<grpc::string_ref> pem =
        context.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    return pem.empty() ? "" : SerialOf(std::string(pem[0].data(), pem[0].size()));
  }

  bool EventuallyServed(const std::string& serial) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (ServedSerial() == serial) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  // True iff `serial` is served throughout `period`, which spans several refresh intervals.
  bool StillServed(const std::string& serial, absl::Duration period = absl::Seconds(3)) {
    const absl::Time end = absl::Now() + period;
    do {
      if (ServedSerial() != serial) return false;
      absl::SleepFor(absl::Milliseconds(300));
    } while (absl::Now() < end);
    return true;
  }

  std::map<std::string, double> Scrape() {
    httplib::Client http("http://" + metrics_address_);
    httplib::Result result = http.Get("/metrics");
    EXPECT_TRUE(result && result->status == 200);
    return result ? ParseExposition(result->body) : std::map<std::string, double>();
  }

  static v1::GetTokenRequest Request(const std::string& credential,
                                     const std::string& resource = kDefender) {
    v1::GetTokenRequest request;
    request.set_credential(credential);
    request.set_resource(resource);
    return request;
  }

  void WritePolicy(const std::string& json) {
    ASSERT_THAT(testing::WriteFile(policy_, json), IsOk());
  }

  std::unique_ptr<devidp::IdpServer> idp_;
  std::string dir_, socket_, policy_;
  const TestCertificate ca_ = testing::MakeCaCertificate();
  const TestCertificate server_a_ =
      testing::MakeSignedCertificate(ca_, "tokend-a", "DNS:localhost,IP:127.0.0.1", 0xa1);
  const TestCertificate server_b_ =
      testing::MakeSignedCertificate(ca_, "tokend-b", "DNS:localhost,IP:127.0.0.1", 0xb2);
  const TestCertificate server_c_ =
      testing::MakeSignedCertificate(ca_, "tokend-c", "DNS:localhost,IP:127.0.0.1", 0xc3);
  const TestCertificate reader_ = testing::MakeSignedCertificate(
      ca_, "reader", absl::StrCat("URI:", kReaderUri, ",DNS:reader.sec.svc"), 0x10);
  const TestCertificate intruder_ =
      testing::MakeSignedCertificate(ca_, "intruder", absl::StrCat("URI:", kIntruderUri), 0x11);
  std::unique_ptr<Process> tokend_;
  std::unique_ptr<TokenClient> client_;
  std::string tcp_address_, metrics_address_;
};

TEST_F(TlsPolicyTest, AllowListAdmitsListedClientsOnly) {
  std::vector<std::string> args = TlsArgs();
  args.push_back(absl::StrCat("--tls-allowed-clients=uri:", kReaderUri, ",dns:other.sec.svc"));
  StartTokend(args);
  ASSERT_NE(tcp_address_, "") << tokend_->Stderr();

  v1::GetTokenResponse response;
  grpc::Status status = GetTokenOverMtls(&reader_, Request("mde"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.access_token(), StartsWith("eyJ"));

  status = GetTokenOverMtls(&intruder_, Request("mde"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("client certificate (mTLS client uri:", kIntruderUri,
                         ") is not in --tls-allowed-clients"));
  // Every TokenService RPC, not only the token-issuing ones.
  {
    auto stub = v1::TokenService::NewStub(TlsChannel(&intruder_));
    grpc::ClientContext context;
    v1::ConsentUrlResponse consent;
    EXPECT_EQ(stub->ConsentUrl(&context, v1::ConsentUrlRequest(), &consent).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Without a client certificate there is no TLS connection at all.
  status = GetTokenOverMtls(nullptr, Request("mde"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The Unix socket presents no certificate; the list does not concern it.
  EXPECT_THAT(client_->GetToken(Request("mde")), IsOk());

  const std::string log = tokend_->Stderr();
  EXPECT_THAT(log, AllOf(HasSubstr("\"msg\":\"client certificate not in --tls-allowed-clients"),
                         HasSubstr(absl::StrCat("\"uri_sans\":\"", kIntruderUri, "\""))));
  EXPECT_THAT(log, HasSubstr("\"tls\":true,\"mtls\":true"));
  std::map<std::string, double> samples = Scrape();
  EXPECT_EQ(samples["tokend_tls_client_denials_total"], 2);
  EXPECT_EQ(samples[R"(tokend_grpc_requests_total{code="PERMISSION_DENIED",method="GetToken"})"],
            1);
}

TEST_F(TlsPolicyTest, RotatedServerCertificateReachesNewConnectionsAndBrokenOnesAreRejected) {
  std::vector<std::string> args = TlsArgs();
  args.push_back("--tls-refresh-interval=1s");
  StartTokend(args);
  ASSERT_EQ(ServedSerial(), "A1") << tokend_->Stderr();

  // A Secret update: the kubelet swaps ..data.
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/tls", TlsVolume(server_b_)), IsOk());
  EXPECT_TRUE(EventuallyServed("B2")) << tokend_->Stderr();
  EXPECT_TRUE(tokend_->WaitForStderr("\"serial\":\"B2\"", absl::Seconds(5)));

  // A certificate file cut short (written in place by something that is not atomic).
  testing::SecretFiles half = TlsVolume(server_c_);
  half["tls.crt"] = server_c_.certificate_pem.substr(0, server_c_.certificate_pem.size() / 2);
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/tls", half), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"TLS files rejected", absl::Seconds(10)));
  EXPECT_TRUE(StillServed("B2"));
  // A new certificate with the old key.
  testing::SecretFiles mismatched = TlsVolume(server_c_);
  mismatched["tls.key"] = server_b_.private_key_pem;
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/tls", mismatched), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"TLS files rejected", absl::Seconds(10), 2));
  EXPECT_TRUE(StillServed("B2"));
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("does not match"));

  // Tokens still flow over mTLS meanwhile.
  v1::GetTokenResponse response;
  EXPECT_TRUE(GetTokenOverMtls(&reader_, Request("mde"), &response).ok());

  // Fixed: served.
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/tls", TlsVolume(server_c_)), IsOk());
  EXPECT_TRUE(EventuallyServed("C3"));
  std::map<std::string, double> samples = Scrape();
  EXPECT_EQ(samples[R"(tokend_tls_reloads_total{result="success"})"], 2);
  EXPECT_EQ(samples[R"(tokend_tls_reloads_total{result="failure"})"], 2);
}

TEST_F(TlsPolicyTest, BadTlsFilesStopTokendAtStartNamingTheFlagAndFile) {
  ASSERT_THAT(testing::UpdateSecretVolume(dir_ + "/tls", {{"tls.crt", server_a_.certificate_pem},
                                                          {"tls.key", server_b_.private_key_pem},
                                                          {"ca.crt", ca_.certificate_pem}}),
              IsOk());
  testing::RunResult r = testing::Run(Args(TlsArgs()), dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("--tls-key-file " + dir_ + "/tls/tls.key"),
                           HasSubstr("does not match")));
  EXPECT_THAT(r.err, Not(HasSubstr(KeyLine(server_b_))));
}

constexpr char kSidecarPolicy[] = R"({"rules": [
  {"name": "sidecar-app",
   "callers": ["unix"],
   "credentials": ["mde"],
   "tenants": ["11111111-1111-1111-1111-111111111111"],
   "resources": ["https://api.securitycenter.microsoft.com"]}]})";

TEST_F(TlsPolicyTest, PolicyGatesTokensOverTheUnixSocket) {
  WritePolicy(kSidecarPolicy);
  StartTokend({"--policy=" + policy_, std::string("--allowed-tenants=") + kOtherTenant});
  EXPECT_THAT(tokend_->Stderr(),
              AllOf(HasSubstr("\"msg\":\"policy loaded\""), HasSubstr("\"rules\":1")));

  EXPECT_THAT(client_->GetToken(Request("mde")), IsOk());
  EXPECT_THAT(client_->GetToken(Request("other")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("rule \"sidecar-app\""), HasSubstr("credential \"other\""),
                             HasSubstr("a Unix socket caller"))));
  v1::GetTokenRequest tenant = Request("mde");
  tenant.set_tenant_id(kOtherTenant);
  EXPECT_THAT(client_->GetToken(tenant),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("rule \"sidecar-app\""), HasSubstr(kOtherTenant))));
  v1::GetTokenRequest scope;
  scope.set_credential("mde");
  scope.add_scopes(kTestScope);
  EXPECT_THAT(client_->GetToken(scope),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("rule \"sidecar-app\""), HasSubstr(kTestScope))));
  EXPECT_THAT(
      client_->WatchToken(Request("other"), [](const v1::GetTokenResponse&) { return false; }),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("credential \"other\"")));
  // Not token-issuing, not gated.
  v1::ConsentUrlRequest consent;
  consent.set_credential("other");
  EXPECT_THAT(client_->ConsentUrl(consent), IsOk());

  const std::string log = tokend_->Stderr();
  EXPECT_THAT(log,
              AllOf(HasSubstr("\"msg\":\"token request denied by the caller policy\""),
                    HasSubstr("\"rule\":\"sidecar-app\""), HasSubstr("\"credential\":\"other\"")));
  std::map<std::string, double> samples = Scrape();
  EXPECT_EQ(samples[R"(tokend_policy_denials_total{rule="sidecar-app"})"], 4);
  EXPECT_EQ(samples[R"(tokend_grpc_requests_total{code="PERMISSION_DENIED",method="GetToken"})"],
            3);
  EXPECT_EQ(samples[R"(tokend_token_renewals_total{credential="other",outcome="success"})"], 0);
}

TEST_F(TlsPolicyTest, PolicyNamesMtlsClientsByTheirCertificate) {
  WritePolicy(
      absl::StrCat(R"({"rules": [{"name": "reader", "callers": ["uri:)", kReaderUri,
                   R"("], "credentials": ["mde"], "tenants": ["*"], "resources": ["*"]}]})"));
  std::vector<std::string> args = TlsArgs();
  args.push_back("--policy=" + policy_);
  StartTokend(args);
  v1::GetTokenResponse response;
  grpc::Status status = GetTokenOverMtls(&reader_, Request("mde"), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  status = GetTokenOverMtls(&intruder_, Request("mde"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("no rule names mTLS client uri:", kIntruderUri)));
  // The Unix socket's callers are named by "unix", which this policy does not list.
  EXPECT_THAT(client_->GetToken(Request("mde")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("no rule names a Unix socket caller")));
  EXPECT_EQ(Scrape()[R"(tokend_policy_denials_total{rule="none"})"], 2);
}

TEST_F(TlsPolicyTest, BadPolicyAtStartStopsTokendNamingTheFile) {
  WritePolicy(R"({"rules": [{"name": "x", "callers": ["unix"], "credentials": ["mde"],
                 "tenants": ["*"], "resources": ["*"], "color": "blue"}]})");
  testing::RunResult r = testing::Run(Args({"--policy=" + policy_}), dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, AllOf(HasSubstr("--policy"), HasSubstr(policy_), HasSubstr("color")));

  WritePolicy("{\"rules\": [");
  r = testing::Run(Args({"--policy=" + policy_}), dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, AllOf(HasSubstr(policy_), HasSubstr("JSON")));

  r = testing::Run(Args({"--policy=" + dir_ + "/missing.json"}), dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, AllOf(HasSubstr("--policy"), HasSubstr("missing.json")));
}

TEST_F(TlsPolicyTest, SighupReloadsThePolicyAndKeepsTheLastGoodOne) {
  WritePolicy(kSidecarPolicy);
  StartTokend({"--policy=" + policy_});
  ASSERT_THAT(client_->GetToken(Request("mde")), IsOk());

  // Broken: rejected, the policy in use stays.
  WritePolicy("{\"rules\": [{\"name\": \"half");
  tokend_->Signal(SIGHUP);
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"policy rejected; keeping the last good policy\"",
                                     absl::Seconds(10)));
  EXPECT_THAT(tokend_->Stderr(), HasSubstr(policy_));
  EXPECT_THAT(client_->GetToken(Request("mde")), IsOk());
  EXPECT_THAT(client_->GetToken(Request("other")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("sidecar-app")));

  // A new good one: applied.
  WritePolicy(R"({"rules": [
    {"name": "other-only", "callers": ["unix"], "credentials": ["other"],
     "tenants": ["*"], "scopes": ["*"], "resources": ["*"]},
    {"name": "spare", "callers": ["tcp"], "credentials": ["mde"],
     "tenants": ["*"], "resources": ["*"]}]})");
  tokend_->Signal(SIGHUP);
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"policy loaded\"", absl::Seconds(10), 2));
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"rules\":2"));
  EXPECT_THAT(client_->GetToken(Request("other")), IsOk());
  EXPECT_THAT(client_->GetToken(Request("mde")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("rule \"other-only\""), HasSubstr("credential \"mde\""))));

  std::map<std::string, double> samples = Scrape();
  EXPECT_EQ(samples[R"(tokend_policy_reloads_total{result="failure"})"], 1);
  EXPECT_EQ(samples[R"(tokend_policy_reloads_total{result="success"})"], 1);
  EXPECT_EQ(samples[R"(tokend_policy_denials_total{rule="sidecar-app"})"], 1);
  EXPECT_EQ(samples[R"(tokend_policy_denials_total{rule="other-only"})"], 1);
  // Still serving after all that.
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
}

TEST_F(TlsPolicyTest, WithoutAPolicyEveryCallerGetsEveryToken) {
  StartTokend({});
  EXPECT_THAT(client_->GetToken(Request("mde")), IsOk());
  EXPECT_THAT(client_->GetToken(Request("other")), IsOk());
  tokend_->Signal(SIGHUP);  // Nothing to reload but the secrets.
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"reloading\"", absl::Seconds(10)));
  EXPECT_THAT(client_->GetToken(Request("other")), IsOk());
  EXPECT_THAT(tokend_->Stderr(), Not(HasSubstr("policy")));
}

}  // namespace
}  // namespace tokend
