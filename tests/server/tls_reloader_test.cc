// TlsReloader: the checks of the TLS files (each failure names the flag and the file, never the
// key), and rotation through a Kubernetes-style Secret volume seen by real TLS handshakes: a
// good rotation reaches new connections, a broken one (cut short, mismatched) is rejected and
// the last good certificate keeps being served.
#include "service/server/tls_reloader.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;
using testing::TestCertificate;

class CountingMetrics : public Metrics {
 public:
  void TlsReload(bool ok) override { ++(ok ? applied : rejected); }
  std::atomic<int> applied{0}, rejected{0};
};

class Healthy final : public grpc::health::v1::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* /*request*/,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// The second line of a PEM text: part of the key's base64 body, which no message may quote.
std::string BodyLine(const std::string& pem) {
  const size_t start = pem.find('\n') + 1;
  return pem.substr(start, pem.find('\n', start) - start);
}

class TlsReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    volume_ = dir_.path() + "/tls";
    files_.cert_file = volume_ + "/tls.crt";
    files_.key_file = volume_ + "/tls.key";
    files_.client_ca_file = volume_ + "/ca.crt";
    files_.refresh_interval = absl::Hours(1);  // The tests call Refresh() themselves.
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  testing::SecretFiles Volume(const TestCertificate& server, const std::string& key_pem = "") {
    return {{"tls.crt", server.certificate_pem},
            {"tls.key", key_pem.empty() ? server.private_key_pem : key_pem},
            {"ca.crt", ca_.certificate_pem}};
  }

  TestCertificate Server(const std::string& name, long serial) {
    return testing::MakeSignedCertificate(ca_, name, "DNS:localhost,IP:127.0.0.1", serial);
  }

  void Serve() {
    absl::StatusOr<std::unique_ptr<TlsReloader>> reloader = TlsReloader::Start(files_, metrics_);
    ASSERT_THAT(reloader, IsOk());
    reloader_ = *std::move(reloader);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", reloader_->credentials(), &port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  // The common name of the certificate a new connection is served; "" if the call fails.
  std::string ServedName() {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ca_.certificate_pem;
    options.pem_cert_chain = client_.certificate_pem;
    options.pem_private_key = client_.private_key_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // A new connection each time.
    args.SetSslTargetNameOverride("localhost");
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(options), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok()) return "";
    std::vector<grpc::string_ref> names =
        context.auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    return names.empty() ? "" : std::string(names[0].data(), names[0].size());
  }

  // Polls until new connections are served `name`, for up to 10s (gRPC reads the published
  // files every second).
  bool EventuallyServed(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (ServedName() == name) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // True iff new connections are served `name` throughout `period` (longer than gRPC's 1s
  // refresh, so that anything published would have been picked up).
  bool StillServed(const std::string& name, absl::Duration period = absl::Milliseconds(2500)) {
    const absl::Time end = absl::Now() + period;
    do {
      if (ServedName() != name) return false;
      absl::SleepFor(absl::Milliseconds(250));
    } while (absl::Now() < end);
    return true;
  }

  testing::TempDir dir_;
  std::string volume_;
  TlsFiles files_;
  const TestCertificate ca_ = testing::MakeCaCertificate();
  const TestCertificate client_ =
      testing::MakeSignedCertificate(ca_, "client", "URI:spiffe://test/client", 100);
  CountingMetrics metrics_;
  std::unique_ptr<TlsReloader> reloader_;
  Healthy health_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(TlsReloaderTest, ReadsAndDescribesGoodFiles) {
  ASSERT_THAT(testing::WriteSecretVolume(volume_, Volume(Server("tokend-a", 0x1a2b))), IsOk());
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(files_);
  ASSERT_THAT(material, IsOk());
  EXPECT_EQ(material->subject, "CN=tokend-a");
  EXPECT_EQ(material->serial, "1A2B");
  EXPECT_GT(material->not_after, absl::Now() + absl::Hours(24 * 300));
  EXPECT_THAT(material->certificate_chain, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(std::string(material->private_key.Reveal()),
              HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(material->client_ca, HasSubstr("-----BEGIN CERTIFICATE-----"));
}

TEST_F(TlsReloaderTest, BadFilesNameTheFlagAndTheFileButNeverTheKey) {
  const TestCertificate a = Server("tokend-a", 1);
  const TestCertificate b = Server("tokend-b", 2);
  const std::string half_cert = a.certificate_pem.substr(0, a.certificate_pem.size() / 2);
  const std::string half_key = a.private_key_pem.substr(0, a.private_key_pem.size() / 2 + 10);
  struct Case {
    const char* what;
    std::string cert, key, ca;
    std::vector<std::string> must_mention;
  } cases[] = {
      {"no certificate",
       "hello",
       a.private_key_pem,
       ca_.certificate_pem,
       {"--tls-cert-file", files_.cert_file, "has no PEM certificate"}},
      {"certificate cut short",
       half_cert,
       a.private_key_pem,
       ca_.certificate_pem,
       {"--tls-cert-file", files_.cert_file, "certificate 1 of 1 cannot be parsed"}},
      {"second certificate cut short",
       a.certificate_pem + half_cert,
       a.private_key_pem,
       ca_.certificate_pem,
       {"--tls-cert-file", "certificate 2 of 2 cannot be parsed"}},
      {"no key",
       a.certificate_pem,
       "garbage",
       ca_.certificate_pem,
       {"--tls-key-file", files_.key_file, "has no PEM private key"}},
      {"key cut short",
       a.certificate_pem,
       half_key,
       ca_.certificate_pem,
       {"--tls-key-file", files_.key_file, "cannot be parsed"}},
      {"encrypted key",
       a.certificate_pem,
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjAp\n"
       "-----END ENCRYPTED PRIVATE KEY-----\n",
       ca_.certificate_pem,
       {"--tls-key-file", "encrypted"}},
      {"key of another certificate",
       a.certificate_pem,
       b.private_key_pem,
       ca_.certificate_pem,
       {"--tls-key-file", files_.key_file, "does not match", "--tls-cert-file", files_.cert_file}},
      {"bad CA bundle",
       a.certificate_pem,
       a.private_key_pem,
       "not a CA",
       {"--tls-client-ca-file", files_.client_ca_file, "has no PEM certificate"}},
      {"CA bundle cut short",
       a.certificate_pem,
       a.private_key_pem,
       ca_.certificate_pem.substr(0, 100),
       {"--tls-client-ca-file", files_.client_ca_file, "cannot be parsed"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_THAT(testing::WritePlainFiles(
                    volume_, {{"tls.crt", c.cert}, {"tls.key", c.key}, {"ca.crt", c.ca}}),
                IsOk());
    absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(files_);
    ASSERT_THAT(material, StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
    const std::string message(material.status().message());
    for (const std::string& text : c.must_mention) EXPECT_THAT(message, HasSubstr(text));
    EXPECT_THAT(message, AllOf(Not(HasSubstr(BodyLine(a.private_key_pem))),
                               Not(HasSubstr(BodyLine(b.private_key_pem)))));
    EXPECT_THAT(TlsReloader::Start(files_, metrics_), StatusIs(material.status().code(), message));
  }
}

TEST_F(TlsReloaderTest, MissingFileIsNamed) {
  ASSERT_THAT(testing::WritePlainFiles(volume_, {{"tls.crt", Server("a", 1).certificate_pem}}),
              IsOk());
  EXPECT_THAT(ReadTlsMaterial(files_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("--tls-key-file"), HasSubstr(files_.key_file),
                             HasSubstr("cannot be read"))));
}

TEST_F(TlsReloaderTest, RotationReachesNewConnectionsAndBrokenRotationsKeepTheLastGood) {
  ASSERT_THAT(testing::WriteSecretVolume(volume_, Volume(Server("tokend-a", 1))), IsOk());
  Serve();
  EXPECT_EQ(ServedName(), "tokend-a");
  EXPECT_THAT(reloader_->Refresh(), IsOk());  // Unchanged: nothing to do, nothing counted.
  EXPECT_EQ(metrics_.applied + metrics_.rejected, 0);

  const TestCertificate b = Server("tokend-b", 2);
  ASSERT_THAT(testing::UpdateSecretVolume(volume_, Volume(b)), IsOk());
  EXPECT_THAT(reloader_->Refresh(), IsOk());
  EXPECT_EQ(metrics_.applied, 1);
  EXPECT_TRUE(EventuallyServed("tokend-b"));

  // Written by something that is not atomic, and caught half way: rejected, b stays.
  const TestCertificate c = Server("tokend-c", 3);
  testing::SecretFiles half = Volume(c);
  half["tls.crt"] = c.certificate_pem.substr(0, c.certificate_pem.size() - 40);
  ASSERT_THAT(testing::UpdateSecretVolume(volume_, half), IsOk());
  EXPECT_THAT(reloader_->Refresh(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot be parsed")));
  EXPECT_EQ(metrics_.rejected, 1);
  EXPECT_THAT(reloader_->Refresh(), Not(IsOk()));  // The same content is judged once.
  EXPECT_EQ(metrics_.rejected, 1);
  EXPECT_TRUE(StillServed("tokend-b"));

  // A certificate whose key is another's: rejected, b stays.
  ASSERT_THAT(testing::UpdateSecretVolume(volume_, Volume(c, b.private_key_pem)), IsOk());
  EXPECT_THAT(reloader_->Refresh(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("does not match")));
  EXPECT_EQ(metrics_.rejected, 2);
  EXPECT_TRUE(StillServed("tokend-b"));

  // Fixed: c is served.
  ASSERT_THAT(testing::UpdateSecretVolume(volume_, Volume(c)), IsOk());
  EXPECT_THAT(reloader_->Refresh(), IsOk());
  EXPECT_EQ(metrics_.applied, 2);
  EXPECT_TRUE(EventuallyServed("tokend-c"));
}

TEST_F(TlsReloaderTest, PollsTheFilesEveryRefreshInterval) {
  files_.refresh_interval = absl::Seconds(1);
  ASSERT_THAT(testing::WriteSecretVolume(volume_, Volume(Server("tokend-a", 1))), IsOk());
  Serve();
  ASSERT_EQ(ServedName(), "tokend-a");
  ASSERT_THAT(testing::UpdateSecretVolume(volume_, Volume(Server("tokend-b", 2))), IsOk());
  EXPECT_TRUE(EventuallyServed("tokend-b"));
  EXPECT_EQ(metrics_.applied, 1);
}

}  // namespace
}  // namespace tokend
