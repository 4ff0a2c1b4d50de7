// Local faults end to end: the real tokend binary (TokendFixture) while its own surroundings
// fail: the secrets dir vanishes or starts empty, a secret file cannot be read or is caught
// half-written, clients give up or die mid-call, ten thousand watchers ride a rotation and a
// shutdown, and SIGHUP reloads arrive under load. Each test checks that tokend stays up, keeps
// its last good state, says clearly what is wrong (gRPC codes, health, log events), and exits 0
// on SIGTERM (under ASan that exit also proves LeakSanitizer found no leak).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/tokend_fixture.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The secret a rotation brings, which the development identity provider is told to accept too.
// Listed in tests/testing/test_secrets.txt, so tests/check_no_secrets.sh watches for it.
constexpr char kNewSecret[] = "rotated-secret-2";
// nobody:nogroup, to run tokend unprivileged when the tests run as root.
constexpr uid_t kNobody = 65534;

// Polls `done` every 5 ms until it holds or `timeout` passes; returns its last value.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return done();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Tokens are compared by hash: a test never prints one.
size_t Hash(const std::string& token) { return std::hash<std::string>()(token); }

class LocalFaultTest : public TokendFixture {
 protected:
  std::string mde() const { return secrets_dir() + "/mde"; }

  // tokend's log events (JSON lines of stderr) whose "msg" is `msg`.
  std::vector<nlohmann::json> LogEvents(const std::string& msg) const {
    std::vector<nlohmann::json> events;
    for (absl::string_view line : absl::StrSplit(tokend_->Stderr(), '\n')) {
      if (!absl::StartsWith(line, "{")) continue;
      nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (event.is_object() && event.value("msg", "") == msg) events.push_back(std::move(event));
    }
    return events;
  }

  bool WaitForHealth(HealthStatus want, absl::Duration timeout = absl::Seconds(10)) {
    return PollUntil(
        [&] {
          absl::StatusOr<HealthStatus> health = client_->Health();
          return health.ok() && *health == want;
        },
        timeout);
  }

  // Has the development identity provider accept `secret` for the client too.
  void AcceptSecret(const std::string& secret) {
    ASSERT_THAT(idp_->directory().AddSecret(kClientId, devidp::SecretConfig{secret, false}),
                IsOk());
  }

  // A brand-new token: proves tokend can sign in with the secret it holds now.
  absl::StatusOr<v1::GetTokenResponse> FreshToken() {
    v1::GetTokenRequest request = Resource();
    request.set_force_refresh(true);
    return client_->GetToken(request);
  }

  // SIGTERM; tokend must exit 0 (under ASan, LeakSanitizer runs at that exit). The client's
  // channel is closed first: an idle gRPC C++ channel answers the server's GOAWAY only at its
  // next backup poll (every 5 s), which would hold up every exit by that much.
  void StopCleanly() {
    client_.reset();
    tokend_->Signal(SIGTERM);
    absl::StatusOr<int> code = tokend_->Wait(absl::Seconds(30));
    EXPECT_THAT(code, IsOkAndHolds(0)) << tokend_->Stderr();
  }
};

// The --secrets-dir missing at start is BadFlagsStopItAtStartNamingTheFlag
// (tokend_integration_test.cc). Here it vanishes while tokend runs: tokend keeps its credential,
// says why it cannot read the dir, and picks the dir up again, rotated meanwhile, when it is back.
TEST_F(LocalFaultTest, SecretsDirVanishingKeepsTheCredentialAndIsPickedUpWhenBack) {
  StartTokend();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  const std::string away = dir_ + "/secrets.away";
  ASSERT_EQ(std::rename(secrets_dir().c_str(), away.c_str()), 0);
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"cannot read the secrets dir", absl::Seconds(10)))
      << tokend_->Stderr();
  std::vector<nlohmann::json> errors =
      LogEvents("cannot read the secrets dir; keeping the credentials in use");
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].value("level", ""), "error");
  EXPECT_THAT(errors[0].value("error", ""),
              AllOf(HasSubstr(secrets_dir()), HasSubstr("does not exist")));

  // Still serving: the cached token, a brand-new one with the credential in memory, health.
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
  EXPECT_THAT(FreshToken(), IsOk());
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));

  // While away the Secret is rotated; then it comes back where tokend looks.
  AcceptSecret(kNewSecret);
  ASSERT_THAT(UpdateSecretVolume(away + "/mde", Files(kNewSecret)), IsOk());
  absl::StatusOr<std::string> target = DataTarget(away + "/mde");
  ASSERT_THAT(target, IsOk());
  ASSERT_EQ(std::rename(away.c_str(), secrets_dir().c_str()), 0);
  // inotify lost the folder with the rename; the watcher's poll (every 10 s) finds it again.
  ASSERT_TRUE(tokend_->WaitForStderr(*target, absl::Seconds(25))) << tokend_->Stderr();
  std::vector<nlohmann::json> loaded = LogEvents("credential loaded");
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[1].value("version", ""), *target);
  ASSERT_THAT(idp_->directory().RemoveSecret(kClientId, kSecret), IsOk());
  EXPECT_THAT(FreshToken(), IsOk());  // Signs in with the rotated secret.
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  StopCleanly();
}

// NotServingWithoutAnyUsableCredential covers the start; here the first credential then arrives.
TEST_F(LocalFaultTest, EmptySecretsDirServesOnceACredentialAppears) {
  std::filesystem::remove_all(mde());
  StartTokend({}, {}, "no usable credential");
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kNotServing));
  EXPECT_THAT(client_->GetToken(Resource()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no credential is configured in the secrets dir")));
  v1::GetTokenRequest named = Resource();
  named.set_credential("mde");
  EXPECT_THAT(
      client_->GetToken(named),
      StatusIs(absl::StatusCode::kNotFound,
               AllOf(HasSubstr("credential \"mde\" is not configured"), HasSubstr("known: none"))));

  ASSERT_THAT(WriteSecretVolume(mde(), Files()), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(10)))
      << tokend_->Stderr();
  ASSERT_TRUE(WaitForHealth(HealthStatus::kServing)) << tokend_->Stderr();
  EXPECT_THAT(client_->GetToken(named), IsOk());
  EXPECT_THAT(client_->GetToken(Resource()), IsOk());
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"ready\""));
  StopCleanly();
}

// A rotation whose client-secret cannot be read. Root reads any file whatever its mode, so as
// root tokend runs as nobody (setpriv) in a test folder it owns; the Secret's files stay root's.
TEST_F(LocalFaultTest, UnreadableSecretInARotationKeepsTheLastGoodSecret) {
  std::vector<std::string> prefix;
  if (geteuid() == 0) {
    ASSERT_EQ(chown(dir_.c_str(), kNobody, kNobody), 0);
    prefix = {"/usr/bin/setpriv", absl::StrCat("--reuid=", kNobody),
              absl::StrCat("--regid=", kNobody), "--clear-groups", "--"};
  }
  command_prefix_ = prefix;
  StartTokend();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  absl::StatusOr<std::string> good = DataTarget(mde());
  ASSERT_THAT(good, IsOk());

  AcceptSecret(kNewSecret);
  std::string unreadable;
  ASSERT_THAT(UpdateSecretVolumeWith(mde(), Files(kNewSecret),
                                     [&](const std::string& version_folder) {
                                       unreadable = version_folder + "/client-secret";
                                       return chmod(unreadable.c_str(), 0) == 0
                                                  ? absl::OkStatus()
                                                  : absl::InternalError("chmod failed");
                                     }),
              IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("credential update rejected", absl::Seconds(10)))
      << tokend_->Stderr();
  std::vector<nlohmann::json> rejected =
      LogEvents("credential update rejected; keeping the last good version");
  ASSERT_EQ(rejected.size(), 1u) << tokend_->Stderr();
  EXPECT_EQ(rejected[0].value("credential", ""), "mde");
  EXPECT_EQ(rejected[0].value("version", ""), *good);
  EXPECT_THAT(rejected[0].value("error", ""),
              HasSubstr("file client-secret: cannot be opened: permission denied"));

  // The last good secret still signs in; the credential stays usable, so health is SERVING.
  EXPECT_THAT(FreshToken(), IsOk());
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));

  // Fixed in place. Nothing tokend watches changes (the file sits in the timestamped folder and
  // ..data does not move), so the operator sends SIGHUP.
  ASSERT_EQ(chmod(unreadable.c_str(), 0644), 0);
  absl::StatusOr<std::string> fixed = DataTarget(mde());
  ASSERT_THAT(fixed, IsOk());
  tokend_->Signal(SIGHUP);
  ASSERT_TRUE(tokend_->WaitForStderr(*fixed, absl::Seconds(10))) << tokend_->Stderr();
  ASSERT_THAT(idp_->directory().RemoveSecret(kClientId, kSecret), IsOk());
  EXPECT_THAT(FreshToken(), IsOk());  // The rotated secret now.
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  StopCleanly();
}

// BrokenSecretUpdateKeepsTheLastGoodOne covers a secret with a space arriving by a ..data swap.
// Here a credential kept as plain files is rewritten in place and caught half-written: first
// empty (rejected: the last good secret stays), then truncated (indistinguishable from a real
// secret: applied, the provider rejects it, the cached token keeps being served), then whole.
TEST_F(LocalFaultTest, HalfWrittenPlainSecretFileNeverLosesTheCachedToken) {
  std::filesystem::remove_all(mde());
  ASSERT_THAT(WritePlainFiles(mde(), Files()), IsOk());
  StartTokend();
  ASSERT_THAT(client_->GetToken(Resource()), IsOk());
  const std::string secret_file = mde() + "/client-secret";

  // 1. Truncated to nothing.
  ASSERT_THAT(WriteFile(secret_file, ""), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("credential update rejected", absl::Seconds(10)))
      << tokend_->Stderr();
  std::vector<nlohmann::json> rejected =
      LogEvents("credential update rejected; keeping the last good version");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_THAT(rejected[0].value("error", ""), HasSubstr("file client-secret: is empty"));
  absl::StatusOr<v1::GetTokenResponse> last_good = FreshToken();
  ASSERT_THAT(last_good, IsOk());
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));

  // 2. Half of the new secret: a valid-looking value, applied; the provider rejects it.
  AcceptSecret(kNewSecret);
  const std::string half = std::string(kNewSecret).substr(0, 10);
  secrets_used_.push_back(half);
  ASSERT_THAT(WriteFile(secret_file, half), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(10), 2))
      << tokend_->Stderr();
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"token request rejected\"", absl::Seconds(10)))
      << tokend_->Stderr();
  absl::StatusOr<v1::GetTokenResponse> cached = client_->GetToken(Resource());
  ASSERT_THAT(cached, IsOk());
  EXPECT_TRUE(cached->from_cache());
  EXPECT_TRUE(cached->access_token() == last_good->access_token());
  absl::StatusOr<v1::GetTokenResponse> refused = FreshToken();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS7000215")));
  EXPECT_THAT(std::string(refused.status().message()), Not(HasSubstr(half)));
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));

  // 3. The writer finishes: the whole new secret is used at once, the rejection forgotten.
  ASSERT_THAT(WriteFile(secret_file, std::string(kNewSecret) + "\n"), IsOk());
  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"credential loaded\"", absl::Seconds(10), 3))
      << tokend_->Stderr();
  ASSERT_THAT(idp_->directory().RemoveSecret(kClientId, kSecret), IsOk());
  EXPECT_THAT(FreshToken(), IsOk());
  StopCleanly();
}

// A caller cancels, another's deadline passes, while the only request to the provider is slow:
// both get their status at once, the request goes on, and its token serves the next caller.
TEST_F(LocalFaultTest, CallersGivingUpDuringAColdFetchLeaveOneRequestAndACachedToken) {
  StartTokend();
  AddFault(devidp::FaultEndpoint::kToken, devidp::FaultKind::kLatency, 0, 1, absl::Seconds(3));
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::TokenService::Stub> stub = v1::TokenService::NewStub(channel);
  grpc::ClientContext cancelled;
  v1::GetTokenResponse unused;
  grpc::Status cancelled_status;
  std::thread caller([&] { cancelled_status = stub->GetToken(&cancelled, Resource(), &unused); });
  // The latency fault is used up once the request is at the provider.
  const bool at_provider =
      PollUntil([&] { return idp_->faults().ToJson()["faults"].empty(); }, absl::Seconds(10));
  const absl::Time cancelled_at = absl::Now();
  cancelled.TryCancel();
  caller.join();
  ASSERT_TRUE(at_provider) << "the token request never reached the provider";
  EXPECT_EQ(cancelled_status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));

  absl::StatusOr<std::unique_ptr<TokenClient>> hasty =
      TokenClient::Create("unix://" + socket_, ClientOptions{absl::Milliseconds(300)});
  ASSERT_THAT(hasty, IsOk());
  EXPECT_THAT((*hasty)->GetToken(Resource()),
              StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));

  ASSERT_TRUE(tokend_->WaitForStderr("\"msg\":\"token obtained\"", absl::Seconds(10)))
      << tokend_->Stderr();
  // The token lands in the cache right after that line.
  absl::StatusOr<v1::GetTokenResponse> token;
  ASSERT_TRUE(PollUntil(
      [&] {
        token = client_->GetToken(Resource());
        return token.ok() && token->from_cache();
      },
      absl::Seconds(5)))
      << token.status();
  EXPECT_EQ(TokenRequests(), 1);
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  StopCleanly();
}

// Watching clients killed mid-stream (SIGKILL: the socket just closes): tokend keeps serving,
// and a watcher that stays gets the renewal after a rotation.
TEST_F(LocalFaultTest, WatchClientsKilledMidStreamLeaveTokendServing) {
  StartTokend();
  std::vector<std::unique_ptr<Process>> watchers;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(
        {TOKENCTL_BIN, "--addr=unix://" + socket_, "watch", "--resource", kDefender}, dir_);
    ASSERT_THAT(p, IsOk());
    watchers.push_back(*std::move(p));
  }
  for (std::unique_ptr<Process>& w : watchers) {
    ASSERT_TRUE(PollUntil([&] { return absl::StrContains(w->Stdout(), "\n"); }, absl::Seconds(20)))
        << w->Stderr();
  }
  for (std::unique_ptr<Process>& w : watchers) w->Signal(SIGKILL);
  for (std::unique_ptr<Process>& w : watchers) {
    EXPECT_THAT(w->Wait(absl::Seconds(10)), IsOkAndHolds(128 + SIGKILL));
  }

  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  EXPECT_THAT(client_->GetToken(Resource()), IsOk());
  std::atomic<int> tokens{0};
  absl::Status ended = absl::UnknownError("not ended");
  std::thread watcher([&] {
    ended = client_->WatchToken(Resource(), [&](const v1::GetTokenResponse&) {
      return ++tokens < 2;  // Stop after the renewal.
    });
  });
  const bool watching = PollUntil([&] { return tokens >= 1; }, absl::Seconds(10));
  absl::Status rotated =
      idp_->directory().AddSecret(kClientId, devidp::SecretConfig{kNewSecret, false});
  if (rotated.ok()) rotated = UpdateSecretVolume(mde(), Files(kNewSecret));
  const bool renewed = PollUntil([&] { return tokens >= 2; }, absl::Seconds(10));
  if (!renewed) tokend_->Signal(SIGKILL);  // Ends the stream, so that the thread can be joined.
  watcher.join();
  ASSERT_TRUE(watching);
  ASSERT_THAT(rotated, IsOk());
  ASSERT_TRUE(renewed) << tokend_->Stderr();
  EXPECT_THAT(ended, IsOk());
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  StopCleanly();
}

// A watching client frozen mid-stream (SIGSTOP, as a paused container) cannot take its stream's
// end: tokend still exits 0, once --shutdown-grace has passed; the client, thawed, ends too.
TEST_F(LocalFaultTest, FrozenWatchClientHoldsShutdownOnlyForTheGrace) {
  StartTokend({"--shutdown-grace=2s"});
  absl::StatusOr<std::unique_ptr<Process>> frozen = Process::Start(
      {TOKENCTL_BIN, "--addr=unix://" + socket_, "watch", "--resource", kDefender}, dir_);
  ASSERT_THAT(frozen, IsOk());
  ASSERT_TRUE(
      PollUntil([&] { return absl::StrContains((*frozen)->Stdout(), "\n"); }, absl::Seconds(20)))
      << (*frozen)->Stderr();
  (*frozen)->Signal(SIGSTOP);
  const absl::Time stopping = absl::Now();
  StopCleanly();
  const absl::Time stopped = absl::Now();
  EXPECT_LT(stopped - stopping, absl::Seconds(2) + absl::Seconds(5));
  EXPECT_THAT(tokend_->Stderr(), HasSubstr("\"msg\":\"stopped\""));
  (*frozen)->Signal(SIGCONT);
  // Its stream's end (OK) was sent before tokend closed the connection.
  EXPECT_THAT((*frozen)->Wait(absl::Seconds(10)), IsOkAndHolds(0)) << (*frozen)->Stderr();
  std::printf("[ INFO     ] tokend exited %s after SIGTERM with a frozen watcher\n",
              absl::FormatDuration(absl::Trunc(stopped - stopping, absl::Milliseconds(1))).c_str());
}

// One WatchToken stream on the async API: its tags, the tokens it received (by hash) and how
// it ended. Touched only by its completion queue's thread until that thread is joined.
struct WatchStream {
  enum Op { kStart, kRead, kFinish };
  struct Tag {
    WatchStream* stream;
    Op op;
  };
  grpc::ClientContext context;
  v1::GetTokenResponse response;
  std::unique_ptr<grpc::ClientAsyncReader<v1::GetTokenResponse>> reader;
  grpc::Status status;
  std::vector<size_t> tokens;
  bool finished = false;
  Tag start{this, kStart}, read{this, kRead}, finish{this, kFinish};
};

struct WatchCounts {
  std::atomic<int> first{0};     // Streams with at least one token.
  std::atomic<int> second{0};    // Streams with at least two.
  std::atomic<int> finished{0};  // Streams ended, with any status.
};

// Runs the streams of `cq` until it is shut down and drained.
void DriveStreams(grpc::CompletionQueue* cq, WatchCounts* counts) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto* t = static_cast<WatchStream::Tag*>(tag);
    WatchStream& s = *t->stream;
    switch (t->op) {
      case WatchStream::kStart:
      case WatchStream::kRead:
        if (!ok) {
          s.reader->Finish(&s.status, &s.finish);
          break;
        }
        if (t->op == WatchStream::kRead) {
          s.tokens.push_back(Hash(s.response.access_token()));
          if (s.tokens.size() == 1) ++counts->first;
          if (s.tokens.size() == 2) ++counts->second;
        }
        s.reader->Read(&s.response, &s.read);
        break;
      case WatchStream::kFinish:
        s.finished = true;
        ++counts->finished;
        break;
    }
  }
}

// tokend's resident memory, from /proc/PID/status ("12345 kB"), for information.
std::string VmRss(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:"))
      return std::string(absl::StripLeadingAsciiWhitespace(line.substr(6)));
  }
  return "?";
}

// How many sockets the process `pid` has open, for information.
int OpenSockets(pid_t pid) {
  int sockets = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/fd"), ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(it->path(), link_ec).string();
    if (!link_ec && absl::StartsWith(target, "socket:")) ++sockets;
  }
  return sockets;
}

// 10,000 WatchToken streams over 8 connections: each gets the token, each gets the renewed
// token after a rotation (the proto: "again after every renewal"), and SIGTERM ends each with
// OK (WatchStreamEndsCleanlyOnShutdown's status) and tokend exits 0 within --shutdown-grace.
TEST_F(LocalFaultTest, TenThousandWatchersGetTheRotationAndEndCleanlyOnShutdown) {
  constexpr int kStreams = 10000;
  constexpr int kChannels = 8;
  StartTokend();
  absl::StatusOr<v1::GetTokenResponse> first = client_->GetToken(Resource());
  ASSERT_THAT(first, IsOk());

  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    // Distinct arguments and a channel-local subchannel pool: a connection of its own each.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("tokend.test.channel", i);
    stubs.push_back(v1::TokenService::NewStub(
        grpc::CreateCustomChannel("unix://" + socket_, grpc::InsecureChannelCredentials(), args)));
    queues.push_back(std::make_unique<grpc::CompletionQueue>());
  }
  WatchCounts counts;
  std::vector<std::thread> drivers;
  for (int i = 0; i < kChannels; ++i) drivers.emplace_back(DriveStreams, queues[i].get(), &counts);
  std::vector<std::unique_ptr<WatchStream>> streams;
  // Ends every stream (a no-op for those already ended), then the queues and their threads.
  // Also runs if an assertion returns early, before the streams are destroyed.
  auto stop_drivers = [&] {
    if (drivers.empty()) return;
    for (const std::unique_ptr<WatchStream>& s : streams) s->context.TryCancel();
    EXPECT_TRUE(PollUntil([&] { return counts.finished == static_cast<int>(streams.size()); },
                          absl::Seconds(30)));
    for (std::unique_ptr<grpc::CompletionQueue>& q : queues) q->Shutdown();
    for (std::thread& t : drivers) t.join();
    drivers.clear();
  };
  struct AtExit {
    std::function<void()> run;
    ~AtExit() { run(); }
  } at_exit{stop_drivers};

  streams.reserve(kStreams);
  const absl::Time opening = absl::Now();
  const v1::GetTokenRequest request = Resource();
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<WatchStream>());
    WatchStream& s = *streams.back();
    s.reader = stubs[i % kChannels]->PrepareAsyncWatchToken(&s.context, request,
                                                            queues[i % kChannels].get());
    s.reader->StartCall(&s.start);
  }
  ASSERT_TRUE(PollUntil([&] { return counts.first == kStreams; }, absl::Seconds(60)))
      << counts.first << " of " << kStreams << " streams got a token; " << counts.finished
      << " ended";
  std::printf(
      "[ INFO     ] %d streams open with a token after %s; tokend VmRSS %s, %d sockets open\n",
      kStreams,
      absl::FormatDuration(absl::Trunc(absl::Now() - opening, absl::Milliseconds(1))).c_str(),
      VmRss(tokend_->pid()).c_str(), OpenSockets(tokend_->pid()));

  AcceptSecret(kNewSecret);
  const absl::Time rotating = absl::Now();
  ASSERT_THAT(UpdateSecretVolume(mde(), Files(kNewSecret)), IsOk());
  ASSERT_TRUE(PollUntil([&] { return counts.second == kStreams; }, absl::Seconds(30)))
      << counts.second << " of " << kStreams << " streams got the renewed token";
  std::printf(
      "[ INFO     ] every stream had the renewed token %s after the rotation\n",
      absl::FormatDuration(absl::Trunc(absl::Now() - rotating, absl::Milliseconds(1))).c_str());
  absl::StatusOr<v1::GetTokenResponse> renewed = client_->GetToken(Resource());
  ASSERT_THAT(renewed, IsOk());
  EXPECT_FALSE(renewed->access_token() == first->access_token());
  EXPECT_EQ(TokenRequests(), 2);

  const absl::Time stopping = absl::Now();
  tokend_->Signal(SIGTERM);
  ASSERT_TRUE(PollUntil([&] { return counts.finished == kStreams; }, absl::Seconds(15)))
      << counts.finished << " of " << kStreams << " streams ended";
  absl::StatusOr<int> code = tokend_->Wait(absl::Seconds(30));
  EXPECT_THAT(code, IsOkAndHolds(0)) << tokend_->Stderr();
  EXPECT_LT(absl::Now() - stopping, absl::Seconds(10)) << "not within --shutdown-grace=10s";
  std::printf(
      "[ INFO     ] all streams ended and tokend exited %s after SIGTERM\n",
      absl::FormatDuration(absl::Trunc(absl::Now() - stopping, absl::Milliseconds(1))).c_str());

  stop_drivers();  // The streams may be read once their threads are joined.
  const size_t h1 = Hash(first->access_token()), h2 = Hash(renewed->access_token());
  std::map<std::string, int> bad;
  for (const std::unique_ptr<WatchStream>& s : streams) {
    std::string what;
    if (!s->finished) {
      what = "not ended";
    } else if (!s->status.ok()) {
      what = absl::StrCat("ended ", s->status.error_code(), ": ", s->status.error_message());
    } else if (s->tokens.size() != 2) {
      what = absl::StrCat(s->tokens.size(), " tokens");
    } else if (s->tokens[0] != h1 || s->tokens[1] != h2) {
      what = "not the first then the renewed token";
    }
    if (!what.empty()) ++bad[what];
  }
  std::vector<std::string> summary;
  for (const auto& [what, n] : bad) summary.push_back(absl::StrCat(n, " x ", what));
  EXPECT_TRUE(bad.empty()) << absl::StrJoin(summary, "; ");
}

// SIGHUP re-reads the secrets dir while callers keep calling GetToken (one of them always
// for a brand-new token) and ValidateToken; once during a ..data swap. No call fails.
TEST_F(LocalFaultTest, SighupUnderLoadReloadsWithoutFailingACall) {
  StartTokend({"--token-requests-per-minute=600", absl::StrCat("--audiences=", kDefender)});
  absl::StatusOr<v1::GetTokenResponse> token = client_->GetToken(Resource());
  ASSERT_THAT(token, IsOk());
  AcceptSecret(kNewSecret);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  absl::Mutex errors_mu;
  std::vector<std::string> errors;
  auto fail = [&](const std::string& what) {
    ++failed;
    absl::MutexLock lock(&errors_mu);
    if (errors.size() < 10) errors.push_back(what);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      v1::ValidateTokenRequest validate;
      validate.set_token(token->access_token());
      while (!stop) {
        if (i < 2) {
          v1::GetTokenRequest request = Resource();
          request.set_force_refresh(i == 0);
          absl::StatusOr<v1::GetTokenResponse> got = client_->GetToken(request);
          if (got.ok()) {
            ++ok;
          } else {
            fail(got.status().ToString());
          }
          if (i == 0) absl::SleepFor(absl::Milliseconds(50));  // Pacing, not synchronization.
        } else {
          absl::StatusOr<v1::ValidateTokenResponse> checked = client_->ValidateToken(validate);
          if (!checked.ok()) {
            fail(checked.status().ToString());
          } else if (!checked->valid()) {
            fail(absl::StrCat("invalid: ", checked->detail()));
          } else {
            ++ok;
          }
        }
      }
    });
  }
  auto more_calls = [&](int n) {
    const int target = ok + n;
    return PollUntil([&] { return ok >= target; }, absl::Seconds(20));
  };
  EXPECT_TRUE(more_calls(300));
  int sighups = 0;
  for (int i = 0; i < 3; ++i) {
    tokend_->Signal(SIGHUP);
    ++sighups;
    EXPECT_TRUE(tokend_->WaitForStderr("\"msg\":\"reloading\"", absl::Seconds(10), sighups));
    EXPECT_TRUE(more_calls(200));
  }
  // A burst of SIGHUPs while the kubelet swaps ..data (pending signals may merge: at least one).
  absl::Status swapped = absl::UnknownError("not run");
  std::thread kubelet([&] { swapped = UpdateSecretVolume(mde(), Files(kNewSecret)); });
  for (int i = 0; i < 5; ++i) {
    tokend_->Signal(SIGHUP);
    absl::SleepFor(absl::Milliseconds(1));  // Spreads the signals over the swap.
  }
  kubelet.join();
  absl::StatusOr<std::string> target = DataTarget(mde());
  EXPECT_TRUE(tokend_->WaitForStderr("\"msg\":\"reloading\"", absl::Seconds(10), sighups + 1));
  const bool rotated = target.ok() && tokend_->WaitForStderr(*target, absl::Seconds(10));
  EXPECT_TRUE(more_calls(300));
  stop = true;
  for (std::thread& t : threads) t.join();
  ASSERT_THAT(swapped, IsOk());
  ASSERT_TRUE(rotated) << tokend_->Stderr();
  EXPECT_EQ(failed, 0) << absl::StrJoin(errors, "; ");
  EXPECT_THAT(client_->Health(), IsOkAndHolds(HealthStatus::kServing));
  EXPECT_THAT(LogEvents("credential loaded"), ::testing::SizeIs(2));
  ASSERT_THAT(idp_->directory().RemoveSecret(kClientId, kSecret), IsOk());
  EXPECT_THAT(FreshToken(), IsOk());  // The rotated secret.
  StopCleanly();
}

}  // namespace
}  // namespace testing
}  // namespace tokend
