// TokenCache with a fake clock, a deterministic task runner and scripted HTTP: nothing sleeps.
#include "service/core/token_cache.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/core/error_details.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/fake_task_runner.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

constexpr char kScope[] = "https://api.securitycenter.microsoft.com/.default";

std::shared_ptr<const Credential> MakeCredential(const std::string& secret,
                                                 const std::string& version) {
  auto c = std::make_shared<Credential>();
  c->name = "mde";
  c->tenant_id = "contoso.onmicrosoft.com";
  c->client_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  c->client_secret = SecretString(secret);
  c->version = version;
  return c;
}

std::string TokenBody(const std::string& token, int expires_in, int refresh_in = 0) {
  return absl::StrCat(R"({"token_type":"Bearer","access_token":")", token, R"(","expires_in":)",
                      expires_in,
                      refresh_in > 0 ? absl::StrCat(R"(,"refresh_in":)", refresh_in) : "", "}");
}

// Collects the results of Get() calls.
struct Result {
  std::optional<absl::StatusOr<CachedToken>> value;
  TokenCallback Callback() {
    return [this](absl::StatusOr<CachedToken> v) {
      ASSERT_FALSE(value.has_value()) << "callback called twice";
      value = std::move(v);
    };
  }
  bool done() const { return value.has_value(); }
  std::string token() const {
    if (!value.has_value() || !value->ok()) return "<none>";
    return std::string((*value)->token->value.Reveal());
  }
  bool from_cache() const { return value.has_value() && value->ok() && (*value)->from_cache; }
  absl::Time expires_at() const {
    return value.has_value() && value->ok() ? (*value)->expires_at : absl::InfinitePast();
  }
  absl::Status status() const {
    return value.has_value() ? value->status() : absl::UnknownError("pending");
  }
};

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : runner_(clock_), fetcher_(http_, clock_, "https://login.example.com") {}

  void SetUp() override { MakeCache(); }

  void MakeCache(TokenCacheOptions options = {}) {
    options.random = [this] { return random_; };
    cache_ = std::make_unique<TokenCache>(fetcher_, clock_, runner_, options);
  }

  TokenRequest Request(absl::Duration min_validity = absl::Minutes(5), bool force = false) {
    TokenRequest r;
    r.credential = credential_;
    r.tenant = "contoso.onmicrosoft.com";
    r.target.scopes = {kScope};
    r.min_validity = min_validity;
    r.force_refresh = force;
    return r;
  }

  // The result lives as long as the test, since a callback may come after the caller left.
  Result* Get(TokenRequest request) {
    results_.push_back(std::make_unique<Result>());
    Result* result = results_.back().get();
    cache_->Get(request, result->Callback());
    return result;
  }

  testing::FakeClock clock_;
  testing::FakeTaskRunner runner_;
  testing::FakeHttpClient http_;
  TokenFetcher fetcher_;
  std::unique_ptr<TokenCache> cache_;
  std::vector<std::unique_ptr<Result>> results_;
  std::shared_ptr<const Credential> credential_ = MakeCredential("secret-1", "v1");
  double random_ = 0.5;
};

TEST_F(TokenCacheTest, ColdMissFetchesOnceThenServesFromMemory) {
  http_.Push(200, TokenBody("tok-1", 3600));
  auto first = Get(Request());
  EXPECT_FALSE(first->done());  // Never on the caller's thread for a miss.
  runner_.RunUntilIdle();
  ASSERT_TRUE(first->done());
  EXPECT_EQ(first->token(), "tok-1");
  EXPECT_FALSE(first->from_cache());
  auto second = Get(Request());
  ASSERT_TRUE(second->done());  // A hit answers at once.
  EXPECT_EQ(second->token(), "tok-1");
  EXPECT_TRUE(second->from_cache());
  EXPECT_EQ(http_.request_count(), 1u);
}

TEST_F(TokenCacheTest, ManyWaitersOneRequest) {
  http_.Push(200, TokenBody("tok-1", 3600));
  std::vector<Result*> results;
  for (int i = 0; i < 500; ++i) results.push_back(Get(Request()));
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 1u);
  for (const auto& r : results) EXPECT_EQ(r->token(), "tok-1");
}

TEST_F(TokenCacheTest, MinValidityDecidesWhetherTheCachedTokenWillDo) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  clock_.Advance(absl::Minutes(50));  // 10 minutes left (the refresh timer is not run).
  EXPECT_TRUE(Get(Request(absl::Minutes(10)))->from_cache());
  http_.Push(200, TokenBody("tok-2", 3600));
  auto r = Get(Request(absl::Minutes(11)));
  EXPECT_FALSE(r->done());
  runner_.RunUntilIdle();
  EXPECT_EQ(r->token(), "tok-2");
}

TEST_F(TokenCacheTest, ForceRefreshGetsANewToken) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  http_.Push(200, TokenBody("tok-2", 3600));
  auto r = Get(Request(absl::Minutes(5), /*force=*/true));
  runner_.RunUntilIdle();
  EXPECT_EQ(r->token(), "tok-2");
  EXPECT_FALSE(r->from_cache());
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(TokenCacheTest, RenewsAheadOfExpiryWithinTheJitterBounds) {
  for (double random : {0.0, 0.999}) {
    SCOPED_TRACE(random);
    random_ = random;
    MakeCache();
    absl::Time start = clock_.SteadyNow();
    http_.Push(200, TokenBody("tok", 3600));
    Get(Request());
    runner_.RunUntilIdle();
    // Renewal between expiry - 7m and expiry - 6m (refresh_before 6m, jitter up to 1m).
    absl::Time due = runner_.NextDue();
    EXPECT_GE(due, start + absl::Minutes(53));
    EXPECT_LE(due, start + absl::Minutes(54));
    runner_.AdvanceAndRun(absl::Hours(2));  // Let everything pending settle.
  }
}

TEST_F(TokenCacheTest, SteadyCallerNeverWaitsAcrossRenewals) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  for (int i = 2; i <= 6; ++i) http_.Push(200, TokenBody(absl::StrCat("tok-", i), 3600));
  // A call every 10 seconds for five hours: every one is answered at once from memory.
  for (int s = 0; s < 5 * 3600; s += 10) {
    runner_.AdvanceAndRun(absl::Seconds(10));
    auto r = Get(Request());
    ASSERT_TRUE(r->done()) << "waited at t=" << s;
    ASSERT_TRUE(r->from_cache());
  }
  // One token an hour or so: 1 + 5 renewals.
  EXPECT_LE(http_.request_count(), 7u);
  EXPECT_GE(http_.request_count(), 6u);
}

TEST_F(TokenCacheTest, RefreshInIsHonoured) {
  absl::Time start = clock_.SteadyNow();
  http_.Push(200, TokenBody("tok", 7200, /*refresh_in=*/1800));
  Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(runner_.NextDue(), start + absl::Minutes(30));
}

TEST_F(TokenCacheTest, IdleTokensAreNotRenewed) {
  // Short-lived tokens: renewal at half their life, every 5 minutes.
  for (int i = 0; i < 100; ++i) http_.Push(200, TokenBody("tok", 600));
  Get(Request());
  runner_.RunUntilIdle();
  runner_.AdvanceAndRun(absl::Hours(3));  // Nobody asks again.
  // Renewals stop once nobody has asked for an hour: 1 + 12 requests.
  EXPECT_GE(http_.request_count(), 12u);
  EXPECT_LE(http_.request_count(), 14u);
  size_t settled = http_.request_count();
  runner_.AdvanceAndRun(absl::Hours(3));
  EXPECT_EQ(http_.request_count(), settled);
}

TEST_F(TokenCacheTest, TransientFailuresAreRetriedWithBackoff) {
  http_.Push(503, "");
  http_.PushError(absl::UnavailableError("connection refused"));
  http_.Push(200, TokenBody("tok-1", 3600));
  auto r = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 1u);
  // random 0.5: backoff = base * 0.75 with base 500ms, then 1s.
  EXPECT_EQ(runner_.NextDue() - clock_.SteadyNow(), absl::Milliseconds(375));
  runner_.AdvanceAndRun(absl::Milliseconds(375));
  EXPECT_EQ(http_.request_count(), 2u);
  EXPECT_EQ(runner_.NextDue() - clock_.SteadyNow(), absl::Milliseconds(750));
  runner_.AdvanceAndRun(absl::Milliseconds(750));
  EXPECT_EQ(r->token(), "tok-1");
  EXPECT_EQ(http_.request_count(), 3u);
}

TEST_F(TokenCacheTest, BackoffIsBoundedAndJittered) {
  TokenCacheOptions options;
  options.max_attempts = 100;
  for (double random : {0.0, 0.999}) {
    random_ = random;
    MakeCache(options);
    for (int i = 0; i < 12; ++i) http_.Push(500, "");
    auto r = Get(Request());
    runner_.RunUntilIdle();
    absl::Duration previous = absl::ZeroDuration();
    for (int attempt = 1; attempt < 12; ++attempt) {
      absl::Duration wait = runner_.NextDue() - clock_.SteadyNow();
      absl::Duration base =
          std::min(absl::Milliseconds(500) * (1 << (attempt - 1)), absl::Seconds(30));
      EXPECT_GE(wait, base / 2) << attempt;
      EXPECT_LE(wait, base) << attempt;
      EXPECT_GE(wait, previous / 2);
      previous = wait;
      runner_.AdvanceAndRun(wait);
    }
    http_.Push(200, TokenBody("tok", 3600));
    runner_.AdvanceAndRun(absl::Minutes(1));
    EXPECT_EQ(r->token(), "tok");
  }
}

TEST_F(TokenCacheTest, RetriesGiveUpAfterMaxAttemptsWithUnavailable) {
  for (int i = 0; i < 4; ++i) http_.Push(500, "");
  auto r = Get(Request());
  runner_.AdvanceAndRun(absl::Minutes(1));
  EXPECT_EQ(http_.request_count(), 4u);
  EXPECT_THAT(r->status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 500")));
}

TEST_F(TokenCacheTest, RetryAfterIsHonoured) {
  http_.Push(429, "", {{"retry-after", "60"}});
  http_.Push(200, TokenBody("tok", 3600));
  auto r = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(runner_.NextDue() - clock_.SteadyNow(), absl::Seconds(60));
  runner_.AdvanceAndRun(absl::Seconds(59));
  EXPECT_EQ(http_.request_count(), 1u);
  runner_.AdvanceAndRun(absl::Seconds(1));
  EXPECT_EQ(r->token(), "tok");
}

TEST_F(TokenCacheTest, ThrottledCallerWithAShortDeadlineFailsAtOnce) {
  TokenCacheOptions options;
  options.max_attempts = 1;
  MakeCache(options);
  http_.Push(429, "", {{"retry-after", "120"}});
  auto first = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(first->status().code(), absl::StatusCode::kUnavailable);
  TokenRequest request = Request();
  request.deadline = clock_.TimeNow() + absl::Seconds(5);
  auto second = Get(request);
  ASSERT_TRUE(second->done());
  EXPECT_THAT(second->status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry after")));
  EXPECT_EQ(GetErrorDetails(second->status())->retry_after, absl::Seconds(120));
}

TEST_F(TokenCacheTest, RejectionIsRememberedBriefly) {
  http_.Push(401, R"({"error":"invalid_client","error_codes":[7000215]})");
  auto r = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_THAT(r->status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AADSTS7000215")));
  for (int i = 0; i < 100; ++i) {
    auto again = Get(Request());
    ASSERT_TRUE(again->done());
    EXPECT_EQ(again->status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(http_.request_count(), 1u);  // Not retried, not hammered.
  clock_.Advance(absl::Seconds(31));
  http_.Push(200, TokenBody("tok", 3600));
  auto later = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(later->token(), "tok");
}

TEST_F(TokenCacheTest, CachedTokenIsServedWhileTheProviderIsDown) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  // From now on every request fails; renewals keep being retried in the background.
  for (int minute = 0; minute < 54; ++minute) {
    runner_.AdvanceAndRun(absl::Minutes(1));
    auto r = Get(Request());
    ASSERT_TRUE(r->from_cache()) << minute;
  }
  EXPECT_GT(http_.request_count(), 1u);
  // Once no token is valid long enough, callers get UNAVAILABLE.
  runner_.AdvanceAndRun(absl::Minutes(2));
  auto late = Get(Request());
  runner_.AdvanceAndRun(absl::Minutes(2));
  EXPECT_EQ(late->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TokenCacheTest, WaiterWhoseDeadlinePassesGetsDeadlineExceeded) {
  TokenRequest request = Request();
  request.deadline = clock_.TimeNow() + absl::Seconds(2);
  for (int i = 0; i < 3; ++i) http_.Push(503, "");
  http_.Push(200, TokenBody("tok", 3600));
  auto r = Get(request);
  auto patient = Get(Request());
  runner_.AdvanceAndRun(absl::Seconds(2));
  EXPECT_THAT(r->status(), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("deadline")));
  EXPECT_FALSE(patient->done());
  runner_.AdvanceAndRun(absl::Seconds(10));
  EXPECT_EQ(patient->token(), "tok");
}

TEST_F(TokenCacheTest, LeastRecentlyUsedIsEvictedExpiredFirst) {
  TokenCacheOptions options;
  options.max_entries = 2;
  MakeCache(options);
  auto request_for = [&](const std::string& resource) {
    TokenRequest r = Request();
    r.target.scopes.clear();
    r.target.resource = resource;
    return r;
  };
  http_.Push(200, TokenBody("a", 3600));
  Get(request_for("https://a"));
  runner_.RunUntilIdle();
  clock_.Advance(absl::Seconds(1));
  http_.Push(200, TokenBody("b", 3600));
  Get(request_for("https://b"));
  runner_.RunUntilIdle();
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Get(request_for("https://a"))->from_cache());  // a is now the more recent.
  http_.Push(200, TokenBody("c", 3600));
  Get(request_for("https://c"));
  runner_.RunUntilIdle();
  EXPECT_EQ(cache_->size(), 2u);
  EXPECT_TRUE(Get(request_for("https://a"))->from_cache());
  EXPECT_FALSE(Get(request_for("https://b"))->done());  // b was evicted.
}

TEST_F(TokenCacheTest, RotationRenewsWithTheNewSecretAndKeepsServingTheOldToken) {
  http_.Push(200, TokenBody("old", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  credential_ = MakeCredential("secret-2", "v2");
  http_.Push(200, TokenBody("new", 3600));
  cache_->OnCredentialChanged(credential_);
  EXPECT_EQ(Get(Request())->token(), "old");  // Until the new one is in hand.
  runner_.RunUntilIdle();
  EXPECT_EQ(Get(Request())->token(), "new");
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(std::string(requests[1].body.Reveal()), HasSubstr("client_secret=secret-2"));
}

TEST_F(TokenCacheTest, RotationForgetsTheRejectionOfTheOldSecret) {
  http_.Push(401, R"({"error":"invalid_client","error_codes":[7000222]})");
  Get(Request());
  runner_.RunUntilIdle();
  credential_ = MakeCredential("secret-2", "v2");
  cache_->OnCredentialChanged(credential_);
  http_.Push(200, TokenBody("tok", 3600));
  auto r = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(r->token(), "tok");
}

// A renewal goes out with the old secret; while it is out the Secret rotates and the provider
// revokes the old secret. The rejection is about the old version: tokend asks again with the new
// one at once, instead of holding it against the new version and renewing no more.
TEST_F(TokenCacheTest, RejectionOfTheOldSecretDuringARotationAsksAgainWithTheNewOne) {
  http_.Push(200, TokenBody("old", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  http_.Push(401, R"({"error":"invalid_client","error_codes":[7000215]})");
  http_.Push(200, TokenBody("new", 3600));
  http_.DuringNextSend([this] {
    credential_ = MakeCredential("secret-2", "v2");
    cache_->OnCredentialChanged(credential_);
  });
  Result* renewed = Get(Request(absl::Minutes(5), /*force=*/true));
  runner_.RunUntilIdle();
  EXPECT_EQ(renewed->token(), "new");
  EXPECT_EQ(Get(Request())->token(), "new");
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(std::string(requests[1].body.Reveal()), HasSubstr("client_secret=secret-1"));
  EXPECT_THAT(std::string(requests[2].body.Reveal()), HasSubstr("client_secret=secret-2"));
}

TEST_F(TokenCacheTest, WatchersHearEveryRenewalUntilUnwatched) {
  std::vector<std::string> seen;
  http_.Push(200, TokenBody("tok-1", 3600));
  uint64_t id = cache_->Watch(Request(), [&](absl::StatusOr<CachedToken> t) {
    ASSERT_THAT(t, IsOk());
    seen.push_back(std::string(t->token->value.Reveal()));
  });
  runner_.RunUntilIdle();
  http_.Push(200, TokenBody("tok-2", 3600));
  http_.Push(200, TokenBody("tok-3", 3600));
  runner_.AdvanceAndRun(absl::Minutes(110));
  EXPECT_THAT(seen, ::testing::ElementsAre("tok-1", "tok-2", "tok-3"));
  cache_->Unwatch(id);
  http_.Push(200, TokenBody("tok-4", 3600));
  runner_.AdvanceAndRun(absl::Minutes(60));
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(TokenCacheTest, ShortLivedTokenBelowMinValidityIsAnError) {
  http_.Push(200, TokenBody("tok", 120));
  auto r = Get(Request(absl::Minutes(5)));
  runner_.RunUntilIdle();
  EXPECT_THAT(r->status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("min_validity")));
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// Records what the cache reports.
class RecordingMetrics : public Metrics {
 public:
  void TokenLookup(const std::string& credential, bool hit) override {
    events.push_back(absl::StrCat(credential, hit ? " hit" : " miss"));
  }
  void TokenRequest(const std::string& credential, RenewalOutcome outcome) override {
    events.push_back(absl::StrCat(credential, " request ", RenewalOutcomeName(outcome)));
  }
  std::vector<std::string> events;
};

TEST_F(TokenCacheTest, ReportsLookupsAndRequestsWithTheirOutcome) {
  RecordingMetrics metrics;
  TokenCacheOptions options;
  options.metrics = &metrics;
  MakeCache(options);
  http_.Push(503, R"({"error":"temporarily_unavailable"})");
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  runner_.AdvanceAndRun(runner_.NextDue() - clock_.SteadyNow());  // The retry after backoff.
  const absl::Time obtained = clock_.TimeNow();
  Get(Request());
  http_.Push(401, R"({"error":"invalid_client","error_codes":[7000215]})");
  Result* forced = Get(Request(absl::Minutes(5), /*force=*/true));
  runner_.RunUntilIdle();
  EXPECT_EQ(forced->status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string name = credential_->name;
  EXPECT_THAT(metrics.events,
              ::testing::ElementsAre(name + " miss", name + " request transient_failure",
                                     name + " request success", name + " hit", name + " miss",
                                     name + " request rejected"));
  EXPECT_EQ(cache_->SoonestExpiryByCredential().at(name), obtained + absl::Hours(1));
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

TEST_F(TokenCacheTest, SoonestExpiryCountsOnlyTokensInUse) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  const std::string name = credential_->name;
  EXPECT_EQ(cache_->SoonestExpiryByCredential().at(name), clock_.TimeNow() + absl::Hours(1));
  // Nobody asks for an hour: the token is left to lapse and no longer reported (an alert on
  // it would fire for a token no one needs).
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(cache_->SoonestExpiryByCredential().empty());
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

TEST_F(TokenCacheTest, ForceRefreshCannotMakeTokendHammerTheProvider) {
  TokenCacheOptions options;
  options.max_requests_per_minute = 3;
  MakeCache(options);
  for (int i = 0; i < 3; ++i) {
    http_.Push(200, TokenBody(absl::StrCat("tok-", i), 3600));
    Result* r = Get(Request(absl::Minutes(5), /*force=*/true));
    runner_.RunUntilIdle();
    EXPECT_EQ(r->token(), absl::StrCat("tok-", i));
    clock_.Advance(absl::Seconds(10));
  }
  // A fourth within the minute: refused at once, saying when the next is allowed.
  Result* refused = Get(Request(absl::Minutes(5), /*force=*/true));
  ASSERT_TRUE(refused->done());
  EXPECT_THAT(refused->status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("allowed in 30s")));
  EXPECT_EQ(GetErrorDetails(refused->status())->retry_after, absl::Seconds(30));
  EXPECT_EQ(http_.request_count(), 3u);
  // Callers without force_refresh are still served from memory.
  EXPECT_TRUE(Get(Request())->from_cache());
  // Once the first request is a minute old, force_refresh works again.
  clock_.Advance(absl::Seconds(30));
  http_.Push(200, TokenBody("tok-3", 3600));
  Result* again = Get(Request(absl::Minutes(5), /*force=*/true));
  runner_.RunUntilIdle();
  EXPECT_EQ(again->token(), "tok-3");
}

TEST_F(TokenCacheTest, FetchesBeyondTheLimitWaitForTheWindow) {
  TokenCacheOptions options;
  options.max_requests_per_minute = 2;
  options.rejection_ttl = absl::Seconds(1);
  MakeCache(options);
  // Two rejections in quick succession use the window up.
  for (int i = 0; i < 2; ++i) {
    http_.Push(401, R"({"error":"invalid_client","error_codes":[7000215]})");
    Get(Request());
    runner_.RunUntilIdle();
    clock_.Advance(absl::Seconds(2));  // Past the rejection's memory.
  }
  EXPECT_EQ(http_.request_count(), 2u);
  // A cold miss now waits (its own deadline permitting) until the first request is a minute old.
  http_.Push(200, TokenBody("tok-1", 3600));
  Result* waiting = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_FALSE(waiting->done());
  EXPECT_EQ(runner_.NextDue() - clock_.SteadyNow(), absl::Seconds(56));
  runner_.AdvanceAndRun(absl::Seconds(56));
  EXPECT_EQ(waiting->token(), "tok-1");
  EXPECT_EQ(http_.request_count(), 3u);
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// The wall clock jumps (FakeClock::JumpWall) while elapsed time goes on: renewals, validity,
// deadlines and waits follow elapsed time; only the reported expires_at follows the wall clock.

// With random 0.5, a one-hour token is renewed 53m30s after it arrived.
constexpr absl::Duration kRenewal = absl::Seconds(53 * 60 + 30);

TEST_F(TokenCacheTest, RenewalStaysOnScheduleWhenTheWallClockJumpsBack) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  const absl::Time due = runner_.NextDue();
  EXPECT_EQ(due - clock_.SteadyNow(), kRenewal);
  clock_.JumpWall(-absl::Hours(2));
  EXPECT_EQ(runner_.NextDue(), due);
  // Still the same token from memory, expiring an hour after it arrived, on today's wall clock.
  auto cached = Get(Request());
  ASSERT_TRUE(cached->done());
  EXPECT_EQ(cached->token(), "tok-1");
  EXPECT_EQ(cached->expires_at(), clock_.TimeNow() + absl::Hours(1));
  // Renewed on schedule: a steady caller gets the new token from memory.
  http_.Push(200, TokenBody("tok-2", 3600));
  runner_.AdvanceAndRun(kRenewal - absl::Seconds(1));
  EXPECT_EQ(http_.request_count(), 1u);
  runner_.AdvanceAndRun(absl::Seconds(1));
  EXPECT_EQ(http_.request_count(), 2u);
  auto renewed = Get(Request());
  ASSERT_TRUE(renewed->done());
  EXPECT_EQ(renewed->token(), "tok-2");
  EXPECT_TRUE(renewed->from_cache());
  EXPECT_EQ(renewed->expires_at(), clock_.TimeNow() + absl::Hours(1));
}

TEST_F(TokenCacheTest, TokenIsNotServedPastItsLifetimeAfterTheWallClockJumpsBack) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  clock_.JumpWall(-absl::Hours(2));
  clock_.Advance(absl::Minutes(55));  // 5 minutes left (the renewal timer is not run).
  EXPECT_TRUE(Get(Request(absl::Minutes(5)))->from_cache());
  clock_.Advance(absl::Seconds(1));  // Less than the min_validity left.
  http_.Push(200, TokenBody("tok-2", 3600));
  auto r = Get(Request(absl::Minutes(5)));
  EXPECT_FALSE(r->done());
  runner_.RunUntilIdle();
  EXPECT_EQ(r->token(), "tok-2");
  EXPECT_FALSE(r->from_cache());
}

TEST_F(TokenCacheTest, ForwardWallClockJumpKeepsServingTheCachedToken) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  const absl::Time due = runner_.NextDue();
  clock_.JumpWall(absl::Hours(2));
  // Not expired: its hour has not passed. Served from memory with min_validity, expires_at an
  // hour after it arrived on the jumped wall clock.
  auto r = Get(Request(absl::Minutes(30)));
  ASSERT_TRUE(r->done());
  EXPECT_TRUE(r->from_cache());
  EXPECT_EQ(r->token(), "tok-1");
  EXPECT_EQ(r->expires_at(), clock_.TimeNow() + absl::Hours(1));
  // No renewal storm: nothing came due, the renewal is where it was.
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 1u);
  EXPECT_EQ(runner_.NextDue(), due);
  http_.Push(200, TokenBody("tok-2", 3600));
  runner_.AdvanceAndRun(kRenewal);
  EXPECT_EQ(http_.request_count(), 2u);
  EXPECT_EQ(Get(Request())->token(), "tok-2");
}

TEST_F(TokenCacheTest, ForceRefreshFetchesAfterTheWallClockJumpsBack) {
  http_.Push(200, TokenBody("tok-1", 3600));
  Get(Request());
  runner_.RunUntilIdle();
  clock_.JumpWall(-absl::Hours(2));
  http_.Push(200, TokenBody("tok-2", 3600));
  auto r = Get(Request(absl::Minutes(5), /*force=*/true));
  EXPECT_FALSE(r->done());  // Not the token from memory.
  runner_.RunUntilIdle();
  EXPECT_EQ(r->token(), "tok-2");
  EXPECT_FALSE(r->from_cache());
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(TokenCacheTest, ExpiresAtIsReportedOnTheCurrentWallClock) {
  http_.Push(200, TokenBody("tok-1", 3600));
  auto first = Get(Request());
  runner_.RunUntilIdle();
  EXPECT_EQ(first->expires_at(), clock_.TimeNow() + absl::Hours(1));
  const std::string name = credential_->name;
  clock_.Advance(absl::Minutes(10));
  for (absl::Duration jump : {-absl::Hours(3), absl::Hours(5)}) {
    SCOPED_TRACE(jump);
    clock_.JumpWall(jump);
    EXPECT_EQ(Get(Request())->expires_at(), clock_.TimeNow() + absl::Minutes(50));
    EXPECT_EQ(cache_->SoonestExpiryByCredential().at(name), clock_.TimeNow() + absl::Minutes(50));
    absl::Time watched = absl::InfinitePast();
    uint64_t id = cache_->Watch(Request(), [&](absl::StatusOr<CachedToken> t) {
      ASSERT_THAT(t, IsOk());
      watched = t->expires_at;
    });
    EXPECT_EQ(watched, clock_.TimeNow() + absl::Minutes(50));
    cache_->Unwatch(id);
  }
}

TEST_F(TokenCacheTest, RetryAfterWaitIsNotStretchedByAWallClockJump) {
  http_.Push(429, "", {{"retry-after", "60"}});
  http_.Push(200, TokenBody("tok", 3600));
  TokenRequest request = Request();
  request.deadline = clock_.TimeNow() + absl::Seconds(90);
  auto waiting = Get(request);
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 1u);
  clock_.JumpWall(-absl::Hours(2));
  EXPECT_EQ(runner_.NextDue() - clock_.SteadyNow(), absl::Seconds(60));
  // A later caller that cannot wait is told the real wait, not the jump.
  TokenRequest hurried = Request();
  hurried.deadline = clock_.TimeNow() + absl::Seconds(5);
  auto refused = Get(hurried);
  ASSERT_TRUE(refused->done());
  EXPECT_THAT(refused->status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("1m")));
  EXPECT_EQ(GetErrorDetails(refused->status())->retry_after, absl::Seconds(60));
  // The waiting caller gets its token once the minute has passed.
  runner_.AdvanceAndRun(absl::Seconds(60));
  EXPECT_EQ(waiting->token(), "tok");
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(TokenCacheTest, WaiterDeadlineFollowsElapsedTimeNotTheWallClock) {
  TokenCacheOptions options;
  options.max_attempts = 100;
  MakeCache(options);
  for (absl::Duration jump : {-absl::Hours(1), absl::Hours(1)}) {
    SCOPED_TRACE(jump);
    TokenRequest request = Request();
    request.deadline = clock_.TimeNow() + absl::Seconds(2);
    auto r = Get(request);  // Nothing scripted: the provider keeps failing.
    runner_.RunUntilIdle();
    clock_.JumpWall(jump);
    runner_.AdvanceAndRun(absl::Seconds(1));
    EXPECT_FALSE(r->done());
    runner_.AdvanceAndRun(absl::Seconds(1));
    EXPECT_EQ(r->status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  cache_->FailAllWaiters(absl::CancelledError("test over"));
}

}  // namespace
}  // namespace tokend
