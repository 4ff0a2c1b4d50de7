// CurlHttpClient against real servers on loopback: cpp-httplib for HTTP and HTTPS, and raw
// sockets for peers that refuse or drop connections.
#include "service/adapters/curl_http_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Le;
using ::testing::Not;
using ::testing::StartsWith;
using ::tokend::testing::IsOk;
using ::tokend::testing::StatusIs;

// Matches an OK absl::StatusOr<HttpResponse> whose HTTP status is `code`.
MATCHER_P(IsResponseWithStatus, code, absl::StrCat("is a response with HTTP status ", code)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "HTTP status is " << arg->status;
  return arg->status == code;
}

constexpr char kSecretMarker[] = "MARKER-7f3a9c-client-secret";

// A TCP socket bound to an ephemeral loopback port. Closed when destroyed.
class LoopbackSocket {
 public:
  LoopbackSocket() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot bind a loopback socket";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() {
    if (fd_ >= 0) close(fd_);
  }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  const int fd_;
  int port_ = 0;
};

// Accepts connections, reads the request and closes the connection without answering.
class HangUpServer {
 public:
  HangUpServer() {
    if (listen(socket_.fd(), 16) != 0) ADD_FAILURE() << "listen failed";
    thread_ = std::thread([this] { Serve(); });
  }
  ~HangUpServer() {
    shutdown(socket_.fd(), SHUT_RDWR);  // Wakes accept() with an error.
    thread_.join();
  }

  int port() const { return socket_.port(); }

 private:
  void Serve() {
    while (true) {
      const int connection = accept(socket_.fd(), nullptr, nullptr);
      if (connection < 0) return;
      char buffer[4096];
      (void)recv(connection, buffer, sizeof(buffer), 0);
      close(connection);
    }
  }

  LoopbackSocket socket_;
  std::thread thread_;
};

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct ExtensionDeleter {
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free_all(bio); }
};

struct CertFiles {
  std::string cert_path;
  std::string key_path;
};

// Writes a self-signed certificate for 127.0.0.1 and localhost, and its RSA key, as PEM files.
bool WriteSelfSignedCert(const CertFiles& files) {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_RSA_gen(2048));
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  if (key == nullptr || cert == nullptr) return false;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign"},
      {NID_subject_key_identifier, "hash"},
  };
  for (const auto& [nid, value] : extensions) {
    std::unique_ptr<X509_EXTENSION, ExtensionDeleter> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) return false;
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return false;
  std::unique_ptr<BIO, BioDeleter> cert_out(BIO_new_file(files.cert_path.c_str(), "w"));
  std::unique_ptr<BIO, BioDeleter> key_out(BIO_new_file(files.key_path.c_str(), "w"));
  return cert_out != nullptr && key_out != nullptr &&
         PEM_write_bio_X509(cert_out.get(), cert.get()) == 1 &&
         PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                  nullptr) == 1;
}

// What a handler saw; handlers run on the server's threads.
struct SeenRequest {
  std::string method;
  std::string body;
  std::string content_type;
  std::string custom_header;
  std::string user_agent;
};

struct Recorder {
  absl::Mutex mu;
  SeenRequest seen ABSL_GUARDED_BY(mu);
};

class CurlHttpClientTest : public ::testing::Test {
 protected:
  CurlHttpClientTest() { Configure(*server_); }
  ~CurlHttpClientTest() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    StopServer();
  }

  // Serves `server_` (routes already added) on 127.0.0.1 from a thread.
  void StartServer() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // Bounded wait for the accept loop: stop() is a no-op before it runs.
    for (int i = 0; i < 500 && !server_->is_running(); ++i) absl::SleepFor(absl::Milliseconds(10));
    ASSERT_TRUE(server_->is_running());
  }

  void StopServer() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }

  // Replaces the plain server (before StartServer()).
  void UseServer(std::unique_ptr<httplib::Server> server) {
    server_ = std::move(server);
    Configure(*server_);
  }

  std::string Url(absl::string_view path, absl::string_view scheme = "http") const {
    return absl::StrCat(scheme, "://127.0.0.1:", port_, path);
  }

  static std::unique_ptr<CurlHttpClient> NewClient(CurlHttpClientOptions options = {}) {
    absl::StatusOr<std::unique_ptr<CurlHttpClient>> client = CurlHttpClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  static HttpRequest Get(std::string url) {
    HttpRequest request;
    request.url = std::move(url);
    request.timeout = absl::Seconds(10);
    return request;
  }

  static HttpRequest Post(std::string url, std::string body) {
    HttpRequest request = Get(std::move(url));
    request.method = "POST";
    request.body = SecretString(std::move(body));
    return request;
  }

  // State that handlers touch lives here, so that it outlives the server's threads.
  Recorder recorder_;
  absl::Notification release_;  // Stalling handlers wait for this; notified on teardown.
  std::atomic<int> hits_{0};
  std::unique_ptr<httplib::Server> server_ = std::make_unique<httplib::Server>();
  int port_ = 0;

 private:
  static void Configure(httplib::Server& server) {
    server.set_keep_alive_max_count(1000);
    server.set_tcp_nodelay(true);  // No Nagle delay between a response's header and body.
    server.new_task_queue = [] { return new httplib::ThreadPool(16); };
  }

  std::thread thread_;
};

TEST_F(CurlHttpClientTest, GetRoundTrip) {
  server_->Get("/hello", [&](const httplib::Request& req, httplib::Response& res) {
    {
      absl::MutexLock lock(&recorder_.mu);
      recorder_.seen.method = req.method;
      recorder_.seen.custom_header = req.get_header_value("X-Request-Id");
      recorder_.seen.user_agent = req.get_header_value("User-Agent");
    }
    res.set_header("X-Reply-Header", "padded value   ");
    res.set_content("hello back", "text/plain");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();
  HttpRequest request = Get(Url("/hello"));
  request.headers = {{"X-Request-Id", "abc-123"}};

  absl::StatusOr<HttpResponse> response = client->Send(request);

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello back");
  EXPECT_EQ(response->Header("x-reply-header"), "padded value");
  EXPECT_EQ(response->Header("content-type"), "text/plain");
  absl::MutexLock lock(&recorder_.mu);
  EXPECT_EQ(recorder_.seen.method, "GET");
  EXPECT_EQ(recorder_.seen.custom_header, "abc-123");
  EXPECT_THAT(recorder_.seen.user_agent, StartsWith("tokend/"));
}

TEST_F(CurlHttpClientTest, PostRoundTrip) {
  server_->Post("/token", [&](const httplib::Request& req, httplib::Response& res) {
    {
      absl::MutexLock lock(&recorder_.mu);
      recorder_.seen.method = req.method;
      recorder_.seen.body = req.body;
      recorder_.seen.content_type = req.get_header_value("Content-Type");
      recorder_.seen.user_agent = req.get_header_value("User-Agent");
    }
    res.set_content(R"({"access_token":"t"})", "application/json");
  });
  StartServer();
  CurlHttpClientOptions options;
  options.user_agent = "tokend/1.2.3";
  std::unique_ptr<CurlHttpClient> client = NewClient(options);
  HttpRequest request = Post(Url("/token"), "grant_type=client_credentials&client_secret=s3cr3t");
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};

  absl::StatusOr<HttpResponse> response = client->Send(request);

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"access_token":"t"})");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  absl::MutexLock lock(&recorder_.mu);
  EXPECT_EQ(recorder_.seen.method, "POST");
  EXPECT_EQ(recorder_.seen.body, "grant_type=client_credentials&client_secret=s3cr3t");
  EXPECT_EQ(recorder_.seen.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(recorder_.seen.user_agent, "tokend/1.2.3");
}

TEST_F(CurlHttpClientTest, PostWithEmptyBodySendsNoBody) {
  server_->Post("/empty", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.body.empty()) ++hits_;
    res.status = 204;
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();

  EXPECT_THAT(client->Send(Post(Url("/empty"), "")), IsResponseWithStatus(204));
  EXPECT_EQ(hits_.load(), 1);
}

TEST_F(CurlHttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  server_->Post("/bad", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"error":"invalid_client"})", "application/json");
  });
  server_->Get("/down", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "7");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();

  absl::StatusOr<HttpResponse> bad = client->Send(Post(Url("/bad"), "x=1"));
  ASSERT_THAT(bad, IsOk());
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body, R"({"error":"invalid_client"})");

  absl::StatusOr<HttpResponse> down = client->Send(Get(Url("/down")));
  ASSERT_THAT(down, IsOk());
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(down->Header("retry-after"), "7");

  EXPECT_THAT(client->Send(Get(Url("/missing"))), IsResponseWithStatus(404));
}

TEST_F(CurlHttpClientTest, RedirectIsReturnedNotFollowed) {
  server_->Get("/authorize", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/elsewhere", 302);
  });
  server_->Get("/elsewhere", [&](const httplib::Request&, httplib::Response& res) {
    ++hits_;
    res.set_content("followed", "text/plain");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();

  absl::StatusOr<HttpResponse> response = client->Send(Get(Url("/authorize")));

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->Header("location"), "/elsewhere");
  EXPECT_EQ(hits_.load(), 0);
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsUnavailable) {
  LoopbackSocket not_listening;  // Bound, so no one else takes the port; never accepts.
  std::unique_ptr<CurlHttpClient> client = NewClient();

  EXPECT_THAT(client->Send(Get(absl::StrCat("http://127.0.0.1:", not_listening.port(), "/"))),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
}

TEST_F(CurlHttpClientTest, ConnectionClosedWithoutAnswerIsUnavailable) {
  HangUpServer hang_up;
  std::unique_ptr<CurlHttpClient> client = NewClient();

  EXPECT_THAT(client->Send(Get(absl::StrCat("http://127.0.0.1:", hang_up.port(), "/"))),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
}

TEST_F(CurlHttpClientTest, ServerSlowerThanTimeoutIsDeadlineExceeded) {
  server_->Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    release_.WaitForNotificationWithTimeout(absl::Seconds(10));
    res.set_content("late", "text/plain");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();
  HttpRequest request = Get(Url("/slow"));
  request.timeout = absl::Milliseconds(200);

  absl::StatusOr<HttpResponse> response = client->Send(request);

  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("127.0.0.1")));
}

TEST_F(CurlHttpClientTest, ZeroTimeoutIsDeadlineExceededWithoutSending) {
  std::unique_ptr<CurlHttpClient> client = NewClient();
  HttpRequest request = Get("http://127.0.0.1:1/");
  request.timeout = absl::ZeroDuration();

  EXPECT_THAT(client->Send(request), StatusIs(absl::StatusCode::kDeadlineExceeded, _));
}

TEST_F(CurlHttpClientTest, BodyOfExactlyTheLimitIsAccepted) {
  server_->Get("/exact", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1024, 'a'), "text/plain");
  });
  StartServer();
  CurlHttpClientOptions options;
  options.max_response_bytes = 1024;
  std::unique_ptr<CurlHttpClient> client = NewClient(options);

  absl::StatusOr<HttpResponse> response = client->Send(Get(Url("/exact")));

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body.size(), 1024u);
}

TEST_F(CurlHttpClientTest, BodyLargerThanLimitIsResourceExhausted) {
  server_->Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1025, 'a'), "text/plain");  // With a Content-Length.
  });
  server_->Get("/small", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  StartServer();
  CurlHttpClientOptions options;
  options.max_response_bytes = 1024;
  std::unique_ptr<CurlHttpClient> client = NewClient(options);

  EXPECT_THAT(client->Send(Get(Url("/big"))),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("1024")));
  // The pooled handle still works after the aborted transfer.
  absl::StatusOr<HttpResponse> small = client->Send(Get(Url("/small")));
  ASSERT_THAT(small, IsOk());
  EXPECT_EQ(small->body, "ok");
}

TEST_F(CurlHttpClientTest, ChunkedBodyLargerThanLimitIsResourceExhausted) {
  server_->Get("/stream", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 64 * 1024) {
        sink.done();
      } else {
        const std::string chunk(512, 'b');
        sink.write(chunk.data(), chunk.size());
      }
      return true;
    });
  });
  StartServer();
  CurlHttpClientOptions options;
  options.max_response_bytes = 4096;
  std::unique_ptr<CurlHttpClient> client = NewClient(options);

  EXPECT_THAT(client->Send(Get(Url("/stream"))),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("4096")));
}

TEST_F(CurlHttpClientTest, SequentialRequestsReuseOneConnection) {
  server_->Post("/token", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();

  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(client->Send(Post(Url("/token"), "a=b")), IsResponseWithStatus(200));
  }
  EXPECT_EQ(client->connections_opened(), 1);
}

TEST_F(CurlHttpClientTest, ConcurrentRequestsFromEightThreadsSucceed) {
  server_->Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value("X-Thread"), "text/plain");
  });
  StartServer();
  std::unique_ptr<CurlHttpClient> client = NewClient();
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 10;
  std::atomic<int> successes{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        HttpRequest request = Get(Url("/echo"));
        request.headers = {{"X-Thread", absl::StrCat(t)}};
        absl::StatusOr<HttpResponse> response = client->Send(request);
        if (response.ok() && response->status == 200 && response->body == absl::StrCat(t)) {
          ++successes;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(successes.load(), kThreads * kRequestsPerThread);
  EXPECT_THAT(client->connections_opened(), Le(kThreads));
}

TEST_F(CurlHttpClientTest, ErrorMessagesNeverContainTheBodyOrTheQuery) {
  server_->Post("/token-path", [&](const httplib::Request&, httplib::Response&) {
    release_.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  StartServer();
  LoopbackSocket not_listening;
  HangUpServer hang_up;
  CurlHttpClientOptions options;
  std::unique_ptr<CurlHttpClient> client = NewClient(options);
  const std::string body = absl::StrCat("client_secret=", kSecretMarker);
  const std::string query = absl::StrCat("/token-path?code=", kSecretMarker);
  const std::vector<std::string> urls = {
      Url(query),
      absl::StrCat("http://127.0.0.1:", not_listening.port(), query),
      absl::StrCat("http://127.0.0.1:", hang_up.port(), query),
  };

  for (const std::string& url : urls) {
    HttpRequest request = Post(url, body);
    request.timeout = absl::Milliseconds(200);
    absl::StatusOr<HttpResponse> response = client->Send(request);
    ASSERT_THAT(response, Not(IsOk())) << url;
    EXPECT_THAT(std::string(response.status().message()),
                AllOf(Not(HasSubstr(kSecretMarker)), Not(HasSubstr("token-path"))))
        << url;
  }
}

TEST_F(CurlHttpClientTest, NonHttpUrlsAreInvalidArgument) {
  std::unique_ptr<CurlHttpClient> client = NewClient();
  for (const char* url : {"ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/",
                          "not a url", "", "//127.0.0.1/no-scheme"}) {
    EXPECT_THAT(client->Send(Get(url)), StatusIs(absl::StatusCode::kInvalidArgument, _)) << url;
  }
}

TEST_F(CurlHttpClientTest, BadRequestsAreInvalidArgument) {
  std::unique_ptr<CurlHttpClient> client = NewClient();
  HttpRequest put = Get("http://127.0.0.1:1/");
  put.method = "PUT";
  EXPECT_THAT(client->Send(put), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("method")));

  HttpRequest get_with_body = Post("http://127.0.0.1:1/", "a=b");
  get_with_body.method = "GET";
  EXPECT_THAT(client->Send(get_with_body), StatusIs(absl::StatusCode::kInvalidArgument, _));

  HttpRequest injected = Get("http://127.0.0.1:1/");
  injected.headers = {{"X-Ok", absl::StrCat("v\r\nX-Injected: ", kSecretMarker)}};
  EXPECT_THAT(client->Send(injected),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr(kSecretMarker))));

  HttpRequest bad_name = Get("http://127.0.0.1:1/");
  bad_name.headers = {{"X-Bad: name", "v"}};
  EXPECT_THAT(client->Send(bad_name), StatusIs(absl::StatusCode::kInvalidArgument, _));
}

TEST_F(CurlHttpClientTest, CreateRejectsBadOptions) {
  CurlHttpClientOptions no_body;
  no_body.max_response_bytes = 0;
  EXPECT_THAT(CurlHttpClient::Create(no_body),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_response_bytes")));

  CurlHttpClientOptions no_connect;
  no_connect.connect_timeout = absl::ZeroDuration();
  EXPECT_THAT(CurlHttpClient::Create(no_connect),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("connect_timeout")));

  CurlHttpClientOptions no_pool;
  no_pool.max_connections_per_host = 0;
  EXPECT_THAT(CurlHttpClient::Create(no_pool),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_connections")));

  CurlHttpClientOptions missing_ca;
  missing_ca.ca_file = ::testing::TempDir() + "/no-such-ca.pem";
  EXPECT_THAT(CurlHttpClient::Create(missing_ca),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ca_file")));
}

class CurlHttpClientTlsTest : public CurlHttpClientTest {
 protected:
  void SetUp() override {
    const std::string prefix =
        absl::StrCat(::testing::TempDir(), "/curl_http_client_test_", getpid());
    files_ = {prefix + "_cert.pem", prefix + "_key.pem"};
    ASSERT_TRUE(WriteSelfSignedCert(files_));
    auto server =
        std::make_unique<httplib::SSLServer>(files_.cert_path.c_str(), files_.key_path.c_str());
    ASSERT_TRUE(server->is_valid());
    UseServer(std::move(server));
    server_->Get("/secure", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("over tls", "text/plain");
    });
    StartServer();
  }
  void TearDown() override {
    StopServer();
    unlink(files_.cert_path.c_str());
    unlink(files_.key_path.c_str());
  }

  CertFiles files_;
};

// Not trusting the provider is configuration, not an outage: FAILED_PRECONDITION, which the
// token cache does not retry, with libcurl's reason.
TEST_F(CurlHttpClientTlsTest, UntrustedCertificateIsFailedPreconditionWithTheReason) {
  std::unique_ptr<CurlHttpClient> client = NewClient();  // System CAs only.

  EXPECT_THAT(client->Send(Get(Url("/secure", "https"))),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("127.0.0.1"),
                             HasSubstr("SSL certificate problem: self-signed certificate"))));
}

TEST_F(CurlHttpClientTlsTest, CertificateTrustedThroughCaFileSucceeds) {
  CurlHttpClientOptions options;
  options.ca_file = files_.cert_path;
  std::unique_ptr<CurlHttpClient> client = NewClient(options);

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> response = client->Send(Get(Url("/secure", "https")));
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "over tls");
  }
  EXPECT_EQ(client->connections_opened(), 1);
}

}  // namespace
}  // namespace tokend
