// CallerOf over real connections to a real gRPC server: a Unix socket, plaintext TCP, TLS without
// a client certificate, and mTLS with one whose URI and DNS SANs come through the auth context.
// The TLS listeners use TlsReloader's credentials, so this also checks that a client CA makes
// gRPC require and verify client certificates.
#include "service/server/caller_identity.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "service/server/tls_reloader.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::TestCertificate;

constexpr char kReaderUri[] = "spiffe://cluster.local/ns/sec/sa/reader";

// Answers health checks and remembers who asked last.
class RecordingHealth final : public grpc::health::v1::Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* /*request*/,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      last_ = CallerOf(*context);
    }
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::optional<Caller> TakeLast() {
    absl::MutexLock lock(&mu_);
    std::optional<Caller> last = std::move(last_);
    last_.reset();
    return last;
  }

 private:
  absl::Mutex mu_;
  std::optional<Caller> last_ ABSL_GUARDED_BY(mu_);
};

class CallerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestCertificate server =
        testing::MakeSignedCertificate(ca_, "tokend", "DNS:localhost,IP:127.0.0.1", 2);
    ASSERT_THAT(testing::WriteFile(dir_.path() + "/tls.crt", server.certificate_pem), IsOk());
    ASSERT_THAT(testing::WriteFile(dir_.path() + "/tls.key", server.private_key_pem), IsOk());
    ASSERT_THAT(testing::WriteFile(dir_.path() + "/ca.crt", ca_.certificate_pem), IsOk());
    TlsFiles tls;
    tls.cert_file = dir_.path() + "/tls.crt";
    tls.key_file = dir_.path() + "/tls.key";
    TlsFiles mtls = tls;
    mtls.client_ca_file = dir_.path() + "/ca.crt";
    absl::StatusOr<std::unique_ptr<TlsReloader>> mtls_reloader =
        TlsReloader::Start(mtls, NoMetrics());
    ASSERT_THAT(mtls_reloader, IsOk());
    mtls_ = *std::move(mtls_reloader);
    absl::StatusOr<std::unique_ptr<TlsReloader>> tls_reloader =
        TlsReloader::Start(tls, NoMetrics());
    ASSERT_THAT(tls_reloader, IsOk());
    tls_ = *std::move(tls_reloader);

    socket_ = dir_.path() + "/tokend.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &tcp_port_);
    builder.AddListeningPort("127.0.0.1:0", tls_->credentials(), &tls_port_);
    builder.AddListeningPort("127.0.0.1:0", mtls_->credentials(), &mtls_port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  // Calls Check on a fresh connection; returns the call's status.
  grpc::Status Call(const std::string& target,
                    std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // A new connection, not a shared one.
    args.SetSslTargetNameOverride("localhost");
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateCustomChannel(target, std::move(credentials), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  }

  std::shared_ptr<grpc::ChannelCredentials> Tls(const TestCertificate* client,
                                                const TestCertificate* ca = nullptr) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = (ca != nullptr ? *ca : ca_).certificate_pem;
    if (client != nullptr) {
      options.pem_cert_chain = client->certificate_pem;
      options.pem_private_key = client->private_key_pem;
    }
    return grpc::SslCredentials(options);
  }

  static std::string Local(int port) { return "127.0.0.1:" + std::to_string(port); }

  testing::TempDir dir_;
  const TestCertificate ca_ = testing::MakeCaCertificate();
  std::unique_ptr<TlsReloader> mtls_, tls_;
  std::string socket_;
  int tcp_port_ = 0, tls_port_ = 0, mtls_port_ = 0;
  RecordingHealth health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CallerIdentityTest, UnixSocketCallerIsUnix) {
  ASSERT_TRUE(Call("unix://" + socket_, grpc::InsecureChannelCredentials()).ok());
  std::optional<Caller> caller = health_.TakeLast();
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->transport, Caller::Transport::kUnix);
  EXPECT_THAT(caller->uri_sans, IsEmpty());
}

TEST_F(CallerIdentityTest, PlaintextTcpCallerIsTcp) {
  ASSERT_TRUE(Call(Local(tcp_port_), grpc::InsecureChannelCredentials()).ok());
  std::optional<Caller> caller = health_.TakeLast();
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->transport, Caller::Transport::kTcp);
}

TEST_F(CallerIdentityTest, TlsCallerWithoutCertificateIsTls) {
  grpc::Status status = Call(Local(tls_port_), Tls(nullptr));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::optional<Caller> caller = health_.TakeLast();
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->transport, Caller::Transport::kTls);
  EXPECT_THAT(caller->dns_sans, IsEmpty());
}

TEST_F(CallerIdentityTest, MtlsCallerCarriesItsUriAndDnsNames) {
  const TestCertificate client = testing::MakeSignedCertificate(
      ca_, "reader", std::string("URI:") + kReaderUri + ",DNS:reader.sec.svc,DNS:Reader.Example",
      3);
  grpc::Status status = Call(Local(mtls_port_), Tls(&client));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::optional<Caller> caller = health_.TakeLast();
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->transport, Caller::Transport::kMtls);
  EXPECT_THAT(caller->uri_sans, ElementsAre(kReaderUri));
  EXPECT_THAT(caller->dns_sans, ElementsAre("reader.sec.svc", "Reader.Example"));
  EXPECT_TRUE(CallerMatches(std::string("uri:") + kReaderUri, *caller));
  EXPECT_TRUE(CallerMatches("dns:reader.example", *caller));
  EXPECT_FALSE(CallerMatches("dns:other.sec.svc", *caller));
}

TEST_F(CallerIdentityTest, MtlsCallerWithoutNamesHasNone) {
  const TestCertificate client = testing::MakeSignedCertificate(ca_, "nameless", "", 4);
  ASSERT_TRUE(Call(Local(mtls_port_), Tls(&client)).ok());
  std::optional<Caller> caller = health_.TakeLast();
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(caller->transport, Caller::Transport::kMtls);
  EXPECT_THAT(caller->uri_sans, IsEmpty());
  EXPECT_THAT(caller->dns_sans, IsEmpty());
}

TEST_F(CallerIdentityTest, ClientCaRequiresAVerifiedClientCertificate) {
  // No certificate: the handshake fails, the service never sees the call.
  EXPECT_EQ(Call(Local(mtls_port_), Tls(nullptr)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A certificate from another CA: likewise.
  const TestCertificate other_ca = testing::MakeCaCertificate("another-ca");
  const TestCertificate stranger =
      testing::MakeSignedCertificate(other_ca, "stranger", std::string("URI:") + kReaderUri, 5);
  EXPECT_EQ(Call(Local(mtls_port_), Tls(&stranger)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(health_.TakeLast().has_value());
}

}  // namespace
}  // namespace tokend
