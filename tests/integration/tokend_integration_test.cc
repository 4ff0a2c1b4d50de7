// The real tokend binary, started as a user would, called through the client library and
// tokenctl over a Unix socket and loopback TCP.
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::IsOkAndHolds;
using ::testing::Not;
using testing::Process;
using testing::StatusIs;

constexpr char kClientId[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kSecret[] = "integration-secret-Zx9";  // Must never appear in any output.
constexpr char kSeedLink[] =
    "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id="
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&response_type=code&sso_reload=true";

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << content;
}

class TokendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/tokend-it.XXXXXX";  // Short: Unix socket paths are limited.
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    secrets_ = dir_ + "/secrets";
    socket_ = dir_ + "/run/tokend.sock";
    AddCredential("mde", kClientId, kSecret);
  }
  void TearDown() override {
    tokend_.reset();
    std::filesystem::remove_all(dir_);
  }

  void AddCredential(const std::string& name, const std::string& client_id,
                     const std::string& secret) {
    WriteFile(secrets_ + "/" + name + "/tenant-id", "contoso.onmicrosoft.com\n");
    WriteFile(secrets_ + "/" + name + "/client-id", client_id + "\n");
    WriteFile(secrets_ + "/" + name + "/client-secret", secret + "\n");
  }

  std::vector<std::string> TokendArgs(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {TOKEND_BIN, "--secrets-dir=" + secrets_,
                                     "--listen=unix://" + socket_ + ",127.0.0.1:0",
                                     "--shutdown-grace=5s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Starts tokend and waits until it has loaded its credentials.
  std::unique_ptr<Process> StartTokend(const std::vector<std::string>& extra = {},
                                       absl::string_view ready = "\"msg\":\"credential") {
    absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(TokendArgs(extra), dir_);
    EXPECT_THAT(p, IsOk());
    if (!p.ok()) return nullptr;
    EXPECT_TRUE((*p)->WaitForStderr(ready, absl::Seconds(20))) << (*p)->Stderr();
    return std::move(*p);
  }

  // The loopback TCP address tokend logged as bound.
  std::string TcpAddress(const Process& p) {
    for (absl::string_view line : absl::StrSplit(p.Stderr(), '\n')) {
      if (!absl::StrContains(line, "\"msg\":\"listening\"")) continue;
      nlohmann::json event = nlohmann::json::parse(line);
      std::string address = event["address"];
      if (absl::StartsWith(address, "127.0.0.1:")) return address;
    }
    return "";
  }

  std::unique_ptr<TokenClient> Client(const std::string& address) {
    absl::StatusOr<std::unique_ptr<TokenClient>> client = TokenClient::Create(address);
    EXPECT_THAT(client, IsOk());
    return std::move(*client);
  }

  testing::RunResult Tokenctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {TOKENCTL_BIN, "--addr=unix://" + socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::Run(argv, dir_);
  }

  std::string dir_, secrets_, socket_;
  std::unique_ptr<Process> tokend_;
};

TEST_F(TokendTest, ServesHealthAndConsentOverUnixSocketAndTcp) {
  tokend_ = StartTokend();
  std::string tcp = TcpAddress(*tokend_);
  ASSERT_NE(tcp, "") << tokend_->Stderr();
  for (const std::string& address : {"unix://" + socket_, tcp}) {
    SCOPED_TRACE(address);
    std::unique_ptr<TokenClient> client = Client(address);
    EXPECT_THAT(client->Health(), IsOkAndHolds(HealthStatus::kServing));
    EXPECT_THAT(client->Health("tokend.v1.TokenService"), IsOkAndHolds(HealthStatus::kServing));
    EXPECT_THAT(client->Health("no.such.Service"), IsOkAndHolds(HealthStatus::kServiceUnknown));
    v1::ConsentUrlRequest request;
    EXPECT_THAT(client->ConsentUrl(request), IsOkAndHolds(std::string(kSeedLink)));
    request.set_kind(v1::CONSENT_KIND_V2_ADMIN_CONSENT);
    EXPECT_THAT(client->ConsentUrl(request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scopes:")));
    request.set_credential("other");
    EXPECT_THAT(client->ConsentUrl(request),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("other")));
  }
}

// Server reflection, called the way grpcurl does (list services), with hand-encoded messages:
// ServerReflectionRequest{list_services: ""} is field 7, and the answer's ServiceResponse
// names are plain strings in the reply.
TEST_F(TokendTest, ServerReflectionListsTheServices) {
  tokend_ = StartTokend();
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto next = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next(1));
  const char kListServices[] = {0x3a, 0x00};
  grpc::Slice slice(kListServices, sizeof(kListServices));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(next(2));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  ASSERT_TRUE(next(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("tokend.v1.TokenService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  call->WritesDone(reinterpret_cast<void*>(4));
  next(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  next(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TokendTest, UnixSocketHasMode0660AndIsRemovedOnExit) {
  tokend_ = StartTokend();
  struct stat st;
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  tokend_->Signal(SIGTERM);
  EXPECT_THAT(tokend_->Wait(absl::Seconds(20)), IsOkAndHolds(0));
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(TokendTest, SocketMode0600) {
  tokend_ = StartTokend({"--socket-mode=0600"});
  struct stat st;
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TokendTest, StaleSocketFromACrashedRunIsReplaced) {
  // A socket file nobody listens on, as a killed tokend leaves behind.
  std::filesystem::create_directories(dir_ + "/run");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  ASSERT_TRUE(std::filesystem::exists(socket_));

  tokend_ = StartTokend();
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("removed a stale socket"));
  EXPECT_THAT(Client("unix://" + socket_)->Health(), IsOkAndHolds(HealthStatus::kServing));
}

TEST_F(TokendTest, SecondTokendOnTheSameSocketFailsClearly) {
  tokend_ = StartTokend();
  absl::StatusOr<std::unique_ptr<Process>> second =
      Process::Start({TOKEND_BIN, "--secrets-dir=" + secrets_, "--listen=unix://" + socket_}, dir_);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT((*second)->Wait(absl::Seconds(20)), IsOkAndHolds(1));
  EXPECT_THAT((*second)->Stderr(),
              HasSubstr("another tokend is already serving on unix:" + socket_));
  // The first one still owns the socket.
  EXPECT_THAT(Client("unix://" + socket_)->Health(), IsOkAndHolds(HealthStatus::kServing));
}

TEST_F(TokendTest, TokenctlConsentUrlAndHealth) {
  tokend_ = StartTokend();
  testing::RunResult health = Tokenctl({"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(nlohmann::json::parse(health.out)["status"], "SERVING");

  testing::RunResult seed = Tokenctl({"consent-url"});
  ASSERT_EQ(seed.exit_code, 0) << seed.err;
  EXPECT_EQ(nlohmann::json::parse(seed.out)["url"], kSeedLink);

  testing::RunResult v2 =
      Tokenctl({"consent-url", "--kind=v2-admin-consent", "--tenant", "contoso.onmicrosoft.com",
                "--scope", "https://api.securitycenter.microsoft.com/.default",
                "--redirect-uri=https://portal.azure.com", "--state=s1"});
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_EQ(nlohmann::json::parse(v2.out)["url"],
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?"
            "client_id=aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa&scope=https%3A%2F%2Fapi."
            "securitycenter.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com"
            "&state=s1");

  testing::RunResult bad_tenant = Tokenctl({"consent-url", "--tenant=not/a/tenant"});
  EXPECT_EQ(bad_tenant.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(bad_tenant.out)["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(bad_tenant.err, HasSubstr("tenant_id:"));

  testing::RunResult unknown = Tokenctl({"consent-url", "--credential=nope"});
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_EQ(nlohmann::json::parse(unknown.out)["error"]["code"], "NOT_FOUND");
}

TEST_F(TokendTest, TokenctlUsageErrorsAndUnreachableService) {
  testing::RunResult r = Tokenctl({"consent-url", "--kind=v3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--kind"));
  r = Tokenctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  r = Tokenctl({"health", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag --bogus"));
  r = Tokenctl({});
  EXPECT_EQ(r.exit_code, 2);
  r = Tokenctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("consent-url"));
  r = Tokenctl({"consent-url", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--redirect-uri"));
  // Nothing listens on the socket: the service failed, exit 3, within the deadline.
  r = testing::Run({TOKENCTL_BIN, "--addr=unix://" + dir_ + "/none.sock", "--timeout=1s", "health"},
                   dir_);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, HasSubstr("UNAVAILABLE"));
}

TEST_F(TokendTest, SigtermDuringLoadLetsCallsFinishAndExitsZero) {
  tokend_ = StartTokend();
  std::unique_ptr<TokenClient> client = Client("unix://" + socket_);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  absl::Mutex other_mu;
  std::vector<std::string> other_errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      v1::ConsentUrlRequest request;
      while (!stop) {
        absl::StatusOr<std::string> url = client->ConsentUrl(request);
        if (url.ok()) {
          ++ok;
        } else if (url.status().code() == absl::StatusCode::kUnavailable ||
                   url.status().code() == absl::StatusCode::kCancelled) {
          // Refused once shutdown began (listener closed, or the call was still queued and
          // never reached a handler): never started, safe to retry elsewhere.
          ++unavailable;
          if (unavailable > 50) break;
        } else {
          ++other;
          absl::MutexLock lock(&other_mu);
          other_errors.push_back(url.status().ToString());
        }
      }
    });
  }
  while (ok < 200) absl::SleepFor(absl::Milliseconds(1));
  tokend_->Signal(SIGTERM);
  absl::StatusOr<int> code = tokend_->Wait(absl::Seconds(20));
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(code, IsOkAndHolds(0)) << tokend_->Stderr();
  EXPECT_EQ(other, 0) << "calls failed otherwise: " << absl::StrJoin(other_errors, "; ");
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"draining\""));
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"stopped\""));
}

TEST_F(TokendTest, SigintAlsoStopsCleanly) {
  tokend_ = StartTokend();
  tokend_->Signal(SIGINT);
  EXPECT_THAT(tokend_->Wait(absl::Seconds(20)), IsOkAndHolds(0));
}

TEST_F(TokendTest, BadFlagsStopItAtStartNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--clock-skew=soon"}, "--clock-skew: \"soon\": not a duration"},
      {{"--listen=0.0.0.0:0"}, "needs TLS"},
      {{"--secrets-dir=/nonexistent/x"}, "--secrets-dir: \"/nonexistent/x\": does not exist"},
      {{"--no-such-flag"}, "unknown flag --no-such-flag"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<std::string> argv = TokendArgs(c.args);
    testing::RunResult r = testing::Run(argv, dir_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(c.message));
  }
  testing::RunResult help = testing::Run({TOKEND_BIN, "--help"}, dir_);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--secrets-dir DIR"));
  testing::RunResult version = testing::Run({TOKEND_BIN, "--version"}, dir_);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("tokend "));
}

TEST_F(TokendTest, BrokenCredentialIsReportedAndTheOthersKeepWorking) {
  AddCredential("broken", "not-a-guid", kSecret);
  AddCredential("spaced", kClientId, "has a space");
  tokend_ = StartTokend();
  ASSERT_TRUE(tokend_->WaitForStderr("\"credential\":\"spaced\"", absl::Seconds(10)));
  std::unique_ptr<TokenClient> client = Client("unix://" + socket_);
  // Not ready while a credential is failing (as /readyz), yet the good one keeps working.
  EXPECT_THAT(client->Health(), IsOkAndHolds(HealthStatus::kNotServing));
  v1::ConsentUrlRequest request;
  request.set_credential("mde");
  EXPECT_THAT(client->ConsentUrl(request), IsOk());
  request.set_credential("broken");
  EXPECT_THAT(client->ConsentUrl(request),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("client-id")));
  std::string log = tokend_->Stderr();
  EXPECT_THAT(log, HasSubstr("\"credential\":\"broken\""));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  EXPECT_THAT(log, Not(HasSubstr("has a space")));
}

TEST_F(TokendTest, NotServingWithoutAnyUsableCredential) {
  std::filesystem::remove_all(secrets_ + "/mde");
  std::filesystem::create_directories(secrets_);
  tokend_ = StartTokend({}, "no usable credential");
  EXPECT_THAT(Client("unix://" + socket_)->Health(), IsOkAndHolds(HealthStatus::kNotServing));
  testing::RunResult health = Tokenctl({"health"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(health.out)["status"], "NOT_SERVING");
}

}  // namespace
}  // namespace tokend
