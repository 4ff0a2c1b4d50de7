// JwksCache with a fake clock, a deterministic task runner and scripted HTTP: nothing sleeps.
#include "service/core/jwks_cache.h"

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/logging.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/fake_task_runner.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;
using testing::TestKey;

constexpr char kAuthority[] = "https://login.microsoftonline.com";
constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr char kTenant2[] = "11111111-2222-3333-4444-555555555555";
constexpr char kTenant3[] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr char kV1Issuer[] = "https://sts.windows.net/{tenantid}/";
constexpr char kV2Issuer[] = "https://login.microsoftonline.com/{tenantid}/v2.0";
constexpr char kCommonKeys[] = "https://login.microsoftonline.com/common/discovery/keys";

std::string Discovery(const std::string& issuer, const std::string& jwks_uri) {
  return absl::StrCat(R"({"issuer":")", issuer, R"(","jwks_uri":")", jwks_uri,
                      R"(","token_endpoint":"https://login.microsoftonline.com/x/oauth2/token"})");
}

std::string DiscoveryUrl(const std::string& tenant, const std::string& version) {
  return version == "2.0"
             ? absl::StrCat(kAuthority, "/", tenant, "/v2.0/.well-known/openid-configuration")
             : absl::StrCat(kAuthority, "/", tenant, "/.well-known/openid-configuration");
}

// Collects the result of one GetKeys() call.
struct Result {
  std::optional<absl::StatusOr<IssuerKeys>> value;
  KeysCallback Callback() {
    return [this](absl::StatusOr<IssuerKeys> v) {
      ASSERT_FALSE(value.has_value()) << "callback called twice";
      value = std::move(v);
    };
  }
  bool done() const { return value.has_value(); }
  absl::Status status() const {
    return value.has_value() ? value->status() : absl::UnknownError("pending");
  }
  std::string issuer() const { return ok() ? (*value)->issuer : "<none>"; }
  bool ok() const { return value.has_value() && value->ok(); }
  std::vector<std::string> kids() const {
    std::vector<std::string> kids;
    if (ok()) {
      for (const Jwk& key : (*value)->keys->keys) kids.push_back(key.kid);
    }
    return kids;
  }
};

class JwksCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new std::vector<TestKey>();
    for (const char* kid : {"k1", "k2", "k3"}) keys_->push_back(TestKey::Rsa(2048, kid));
  }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }

  void SetUp() override { Make(JwksCacheOptions()); }

  void Make(JwksCacheOptions options) {
    cache_.reset();
    cache_ = std::make_unique<JwksCache>(http_, clock_, runner_, kAuthority, options);
  }

  // A JWKS document of the test keys at these indexes (0 = k1, 1 = k2, 2 = k3).
  static std::string Jwks(std::vector<int> which) {
    std::vector<nlohmann::json> jwks;
    for (int i : which) jwks.push_back((*keys_)[i].Jwk());
    return testing::JwksJson(jwks);
  }

  void Get(Result& result, const std::string& kid, const std::string& tenant = kTenant,
           const std::string& version = "1.0") {
    cache_->GetKeys(tenant, version, kid, result.Callback());
  }

  // Fetches k1 and k2 for kTenant v1 through the common keys URL.
  void Warm() {
    http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
    http_.Push(200, Jwks({0, 1}));
    Result r;
    Get(r, "k1");
    runner_.RunUntilIdle();
    ASSERT_THAT(r.status(), IsOk());
    ASSERT_EQ(http_.request_count(), 2u);
  }

  std::string LastUrl() { return http_.requests().back().url; }

  static std::vector<TestKey>* keys_;
  testing::FakeClock clock_;
  testing::FakeTaskRunner runner_{clock_};
  testing::FakeHttpClient http_;
  std::unique_ptr<JwksCache> cache_;
};

std::vector<TestKey>* JwksCacheTest::keys_ = nullptr;

TEST_F(JwksCacheTest, ColdFetchIsAsynchronousThenServedFromMemory) {
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({0, 1}));
  Result first;
  Get(first, "k1");
  EXPECT_FALSE(first.done());
  EXPECT_EQ(http_.request_count(), 0u);

  runner_.RunUntilIdle();
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(first.issuer(), absl::StrCat("https://sts.windows.net/", kTenant, "/"));
  EXPECT_THAT(first.kids(), ElementsAre("k1", "k2"));
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, DiscoveryUrl(kTenant, "1.0"));
  EXPECT_EQ(requests[1].url, kCommonKeys);

  Result second;
  Get(second, "k2");
  ASSERT_TRUE(second.done());  // Inline, no runner.
  EXPECT_THAT(second.status(), IsOk());
  EXPECT_THAT(second.kids(), ElementsAre("k1", "k2"));
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(JwksCacheTest, V2UsesV2DiscoveryAndSubstitutesIssuer) {
  std::string v2_keys = absl::StrCat(kAuthority, "/", kTenant, "/discovery/v2.0/keys");
  http_.Push(200, Discovery(kV2Issuer, v2_keys));
  http_.Push(200, Jwks({0}));
  Result r;
  Get(r, "k1", kTenant, "2.0");
  runner_.RunUntilIdle();
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r.issuer(), absl::StrCat("https://login.microsoftonline.com/", kTenant, "/v2.0"));
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, DiscoveryUrl(kTenant, "2.0"));
  EXPECT_EQ(requests[1].url, v2_keys);
}

TEST_F(JwksCacheTest, VersionsAreCachedSeparately) {
  Warm();
  http_.Push(200, Discovery(kV2Issuer, kCommonKeys));
  Result r;
  Get(r, "k1", kTenant, "2.0");
  runner_.RunUntilIdle();
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r.issuer(), absl::StrCat("https://login.microsoftonline.com/", kTenant, "/v2.0"));
  // One more request, the v2 discovery document; the shared keys came from memory.
  EXPECT_EQ(http_.request_count(), 3u);
  EXPECT_EQ(LastUrl(), DiscoveryUrl(kTenant, "2.0"));
}

TEST_F(JwksCacheTest, UnknownKidRightAfterAFetchRefetchesOnceThenNotAgain) {
  Warm();
  http_.Push(200, Jwks({1, 2}));
  Result r;
  Get(r, "k9");
  runner_.RunUntilIdle();
  ASSERT_TRUE(r.done());
  EXPECT_EQ(http_.request_count(), 3u);  // The rollover check happens at once.
  Result again;
  Get(again, "k9");
  ASSERT_TRUE(again.done());  // Within 5 minutes: the set held, no request.
  EXPECT_THAT(again.kids(), ElementsAre("k2", "k3"));
  EXPECT_EQ(http_.request_count(), 3u);
}

TEST_F(JwksCacheTest, UnknownKidRefetchesAtMostOncePerInterval) {
  Warm();
  clock_.Advance(absl::Minutes(5));

  // Rollover: the refetched set drops k1 and adds k3.
  http_.Push(200, Jwks({1, 2}));
  Result rolled;
  Get(rolled, "k3");
  EXPECT_FALSE(rolled.done());
  runner_.RunUntilIdle();
  ASSERT_THAT(rolled.status(), IsOk());
  EXPECT_THAT(rolled.kids(), ElementsAre("k2", "k3"));
  EXPECT_EQ(http_.request_count(), 3u);
  EXPECT_EQ(LastUrl(), kCommonKeys);

  // Another unknown kid within 5 minutes: answered at once with the set held, no request.
  Result miss;
  Get(miss, "k-unknown");
  ASSERT_TRUE(miss.done());
  EXPECT_THAT(miss.kids(), ElementsAre("k2", "k3"));
  clock_.Advance(absl::Minutes(4) + absl::Seconds(59));
  Result miss2;
  Get(miss2, "k-unknown");
  ASSERT_TRUE(miss2.done());
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 3u);

  // Five minutes after the refetch: one more.
  clock_.Advance(absl::Seconds(1));
  http_.Push(200, Jwks({1, 2}));
  Result miss3;
  Get(miss3, "k-unknown");
  EXPECT_FALSE(miss3.done());
  runner_.RunUntilIdle();
  EXPECT_THAT(miss3.status(), IsOk());  // Still lacks the kid: the caller decides.
  EXPECT_EQ(http_.request_count(), 4u);

  // Known kids never wait.
  Result hit;
  Get(hit, "k3");
  EXPECT_TRUE(hit.done());
}

TEST_F(JwksCacheTest, ConcurrentUnknownKidsShareOneRefetch) {
  Warm();
  clock_.Advance(absl::Minutes(5));
  http_.Push(200, Jwks({0, 1, 2}));
  std::vector<Result> results(10);
  for (int i = 0; i < 10; ++i) Get(results[i], absl::StrCat("new-", i % 3));
  runner_.RunUntilIdle();
  for (const Result& r : results) EXPECT_THAT(r.kids(), ElementsAre("k1", "k2", "k3"));
  EXPECT_EQ(http_.request_count(), 3u);
}

TEST_F(JwksCacheTest, FiftyConcurrentColdRequestsMakeOneOfEachRequest) {
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({0, 1}));
  std::vector<Result> results(50);
  for (Result& r : results) Get(r, "k1");
  for (const Result& r : results) EXPECT_FALSE(r.done());
  runner_.RunUntilIdle();
  for (const Result& r : results) {
    EXPECT_THAT(r.status(), IsOk());
    EXPECT_THAT(r.kids(), ElementsAre("k1", "k2"));
  }
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(JwksCacheTest, KeysEndpointDownKeepsOldKeys) {
  Warm();
  clock_.Advance(absl::Minutes(5));
  http_.PushError(absl::UnavailableError("connection refused"));
  Result r;
  Get(r, "k3");
  runner_.RunUntilIdle();
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_THAT(r.kids(), ElementsAre("k1", "k2"));

  clock_.Advance(absl::Minutes(5));
  http_.Push(500, "oops");
  Result r2;
  Get(r2, "k3");
  runner_.RunUntilIdle();
  ASSERT_THAT(r2.status(), IsOk());
  EXPECT_THAT(r2.kids(), ElementsAre("k1", "k2"));
  EXPECT_EQ(http_.request_count(), 4u);
}

TEST_F(JwksCacheTest, MalformedOrEmptyJwksKeepsOldKeys) {
  Warm();
  for (const char* body :
       {"not json", R"({"keys":[]})", R"({"keys":[{"kty":"RSA","kid":"x"}]})", R"({"nokeys":1})"}) {
    SCOPED_TRACE(body);
    clock_.Advance(absl::Minutes(5));
    http_.Push(200, body);
    Result r;
    Get(r, "k3");
    runner_.RunUntilIdle();
    ASSERT_THAT(r.status(), IsOk());
    EXPECT_THAT(r.kids(), ElementsAre("k1", "k2"));
  }
  EXPECT_EQ(http_.request_count(), 6u);
}

TEST_F(JwksCacheTest, OversizedJwksKeepsOldKeys) {
  Warm();
  clock_.Advance(absl::Minutes(5));
  http_.Push(200, absl::StrCat(R"({"keys":[],"pad":")", std::string(300 * 1024, 'a'), R"("})"));
  Result r;
  Get(r, "k3");
  runner_.RunUntilIdle();
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_THAT(r.kids(), ElementsAre("k1", "k2"));
}

TEST_F(JwksCacheTest, NothingCachedAndKeysFetchFailsIsUnavailable) {
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(503, "busy");
  std::vector<Result> results(3);
  for (Result& r : results) Get(r, "k1");
  runner_.RunUntilIdle();
  for (const Result& r : results) {
    EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kUnavailable,
                                     ::testing::AllOf(HasSubstr(kTenant), HasSubstr("keys"))));
  }
  EXPECT_EQ(http_.request_count(), 2u);

  // Right after the failure: UNAVAILABLE at once, no request.
  Result again;
  Get(again, "k1");
  ASSERT_TRUE(again.done());
  EXPECT_THAT(again.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("keys")));
  EXPECT_EQ(http_.request_count(), 2u);

  // Later, the endpoint is back: the discovery document is still known, only keys are fetched.
  clock_.Advance(absl::Seconds(10));
  http_.Push(200, Jwks({0}));
  Result later;
  Get(later, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(later.status(), IsOk());
  EXPECT_EQ(http_.request_count(), 3u);
}

TEST_F(JwksCacheTest, NothingCachedAndDiscoveryFailsIsUnavailable) {
  http_.PushError(absl::UnavailableError("name not resolved"));
  Result r;
  Get(r, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kUnavailable,
                                   ::testing::AllOf(HasSubstr(kTenant), HasSubstr("keys"))));
  EXPECT_EQ(http_.request_count(), 1u);

  http_.Push(200, "{not json");
  clock_.Advance(absl::Seconds(10));
  Result r2;
  Get(r2, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(r2.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr(kTenant)));
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(JwksCacheTest, HourlyBackgroundRefreshPicksUpRollover) {
  Warm();
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({1, 2}));
  runner_.AdvanceAndRun(absl::Minutes(59));
  EXPECT_EQ(http_.request_count(), 2u);
  runner_.AdvanceAndRun(absl::Minutes(1));
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[2].url, DiscoveryUrl(kTenant, "1.0"));
  EXPECT_EQ(requests[3].url, kCommonKeys);

  Result r;
  Get(r, "k3");
  ASSERT_TRUE(r.done());
  EXPECT_THAT(r.kids(), ElementsAre("k2", "k3"));

  // A failed refresh keeps the keys and is retried an hour later.
  runner_.AdvanceAndRun(absl::Hours(1));  // Nothing scripted: both requests fail.
  EXPECT_EQ(http_.request_count(), 6u);
  Result r2;
  Get(r2, "k3");
  ASSERT_TRUE(r2.done());
  EXPECT_THAT(r2.kids(), ElementsAre("k2", "k3"));
  runner_.AdvanceAndRun(absl::Hours(1));
  EXPECT_EQ(http_.request_count(), 8u);
}

TEST_F(JwksCacheTest, RefreshFollowsAMovedJwksUri) {
  Warm();
  std::string moved = absl::StrCat(kAuthority, "/", kTenant, "/discovery/keys");
  http_.Push(200, Discovery(kV1Issuer, moved));
  http_.Push(200, Jwks({0, 1}));  // The old URI, still refreshed in the same round.
  http_.Push(200, Jwks({2}));     // The new one.
  runner_.AdvanceAndRun(absl::Hours(1));
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[4].url, moved);
  Result r;
  Get(r, "k3");
  ASSERT_TRUE(r.done());
  EXPECT_THAT(r.kids(), ElementsAre("k3"));
}

TEST_F(JwksCacheTest, UnusedKeysAreNotRefreshedForever) {
  Warm();
  // Every hour refreshes fail (nothing scripted); after key_ttl without use, refreshing stops.
  runner_.AdvanceAndRun(absl::Hours(30));
  size_t count = http_.request_count();
  runner_.AdvanceAndRun(absl::Hours(5));
  EXPECT_EQ(http_.request_count(), count);
}

TEST_F(JwksCacheTest, KeysExpireAfterTtlWithoutSuccessfulRefresh) {
  JwksCacheOptions options;
  options.key_ttl = absl::Hours(3);
  Make(options);
  Warm();
  runner_.AdvanceAndRun(absl::Hours(2) + absl::Minutes(59));  // Refreshes at 1 h and 2 h fail.
  Result before;
  Get(before, "k1");
  ASSERT_TRUE(before.done());
  EXPECT_THAT(before.kids(), ElementsAre("k1", "k2"));

  runner_.AdvanceAndRun(absl::Minutes(1));  // The 3 h refresh fails too: keys dropped.
  Result after;
  Get(after, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(after.status(), StatusIs(absl::StatusCode::kUnavailable,
                                       ::testing::AllOf(HasSubstr(kTenant), HasSubstr("keys"))));

  // A fetch that works brings them back.
  clock_.Advance(absl::Seconds(10));
  http_.Push(200, Jwks({0}));
  Result back;
  Get(back, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(back.status(), IsOk());
  EXPECT_THAT(back.kids(), ElementsAre("k1"));
}

TEST_F(JwksCacheTest, SuccessfulRefreshKeepsKeysPastTtl) {
  JwksCacheOptions options;
  options.key_ttl = absl::Hours(3);
  Make(options);
  Warm();
  for (int hour = 1; hour <= 5; ++hour) {
    http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
    http_.Push(200, Jwks({0, 1}));
    runner_.AdvanceAndRun(absl::Hours(1));
    Result r;
    Get(r, "k1");
    ASSERT_TRUE(r.done()) << hour;
    EXPECT_THAT(r.status(), IsOk());
  }
  EXPECT_EQ(http_.request_count(), 12u);
}

TEST_F(JwksCacheTest, RejectsBadTenantOrVersion) {
  struct Case {
    const char* tenant;
    const char* version;
  };
  for (const Case& c :
       {Case{"contoso.onmicrosoft.com", "1.0"}, Case{"common", "2.0"}, Case{"", "1.0"},
        Case{"72f988bf-86f1-41af-91ab-2d7cd011db4", "1.0"}, Case{"../../evil", "1.0"},
        Case{kTenant, "3.0"}, Case{kTenant, ""}, Case{kTenant, "2"}}) {
    SCOPED_TRACE(absl::StrCat(c.tenant, " ", c.version));
    Result r;
    Get(r, "k1", c.tenant, c.version);
    ASSERT_TRUE(r.done());
    EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  }
  runner_.RunUntilIdle();
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(JwksCacheTest, TenantsSharingAJwksUriShareOneKeysFetch) {
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({0, 1}));
  Result a, b;
  Get(a, "k1", kTenant);
  Get(b, "k2", kTenant2);
  runner_.RunUntilIdle();
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(a.issuer(), absl::StrCat("https://sts.windows.net/", kTenant, "/"));
  EXPECT_EQ(b.issuer(), absl::StrCat("https://sts.windows.net/", kTenant2, "/"));
  EXPECT_EQ((*a.value)->keys, (*b.value)->keys);  // The same set.
  std::vector<HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].url, kCommonKeys);

  // A third tenant later: its discovery document only.
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  Result c;
  Get(c, "k1", kTenant3);
  runner_.RunUntilIdle();
  EXPECT_THAT(c.status(), IsOk());
  EXPECT_EQ(http_.request_count(), 4u);
}

TEST_F(JwksCacheTest, EvictsLeastRecentlyUsedTenant) {
  JwksCacheOptions options;
  options.max_tenants = 2;
  Make(options);
  for (const char* tenant : {kTenant, kTenant2}) {
    http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
    if (std::string(tenant) == kTenant) http_.Push(200, Jwks({0, 1}));
    Result r;
    Get(r, "k1", tenant);
    runner_.RunUntilIdle();
    ASSERT_THAT(r.status(), IsOk());
    clock_.Advance(absl::Seconds(1));
  }
  EXPECT_EQ(http_.request_count(), 3u);
  Result touch;
  Get(touch, "k1", kTenant);  // kTenant2 is now the least recently used.
  ASSERT_TRUE(touch.done());
  clock_.Advance(absl::Seconds(1));

  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  Result third;
  Get(third, "k1", kTenant3);
  runner_.RunUntilIdle();
  ASSERT_THAT(third.status(), IsOk());
  EXPECT_EQ(http_.request_count(), 4u);

  Result first_again;
  Get(first_again, "k1", kTenant);
  EXPECT_TRUE(first_again.done());  // Still cached.
  Result second_again;
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  Get(second_again, "k1", kTenant2);
  EXPECT_FALSE(second_again.done());  // Evicted: discovery again.
  runner_.RunUntilIdle();
  EXPECT_THAT(second_again.status(), IsOk());
  EXPECT_EQ(http_.request_count(), 5u);
}

TEST_F(JwksCacheTest, LogsFetchesWithKids) {
  std::ostringstream log;
  SetLogOutput(&log);
  Warm();
  clock_.Advance(absl::Minutes(5));
  http_.Push(500, "");
  Result r;
  Get(r, "k3");
  runner_.RunUntilIdle();
  SetLogOutput(nullptr);
  std::string text = log.str();
  EXPECT_THAT(text, HasSubstr("fetched signing keys"));
  EXPECT_THAT(text, HasSubstr(kTenant));
  EXPECT_THAT(text, HasSubstr("login.microsoftonline.com"));
  EXPECT_THAT(text, HasSubstr("k1,k2"));
  EXPECT_THAT(text, HasSubstr("keeping the last good keys"));
  EXPECT_THAT(text, Not(HasSubstr("\"n\"")));
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

class FetchRecorder : public Metrics {
 public:
  void KeyFetch(KeyDocument document, FetchOutcome outcome) override {
    events.push_back(absl::StrCat(KeyDocumentName(document), " ", FetchOutcomeName(outcome)));
  }
  std::vector<std::string> events;
};

TEST_F(JwksCacheTest, ReportsEachFetchAndWhatHeldAfterIt) {
  FetchRecorder metrics;
  JwksCacheOptions options;
  options.metrics = &metrics;
  Make(options);
  EXPECT_EQ(cache_->Stats().keys, 0u);
  Warm();
  clock_.Advance(absl::Minutes(5));
  http_.Push(200, "not json");
  Result rejected;
  Get(rejected, "k3");
  runner_.RunUntilIdle();
  clock_.Advance(absl::Minutes(5));
  http_.PushError(absl::UnavailableError("connection refused"));
  Result failed;
  Get(failed, "k3");
  runner_.RunUntilIdle();
  EXPECT_THAT(metrics.events,
              ElementsAre("discovery ok", "keys ok", "keys rejected", "keys failed"));
  JwksCacheStats stats = cache_->Stats();
  EXPECT_EQ(stats.key_sets, 1u);
  EXPECT_EQ(stats.keys, 2u);  // The last good keys, kept.
  EXPECT_EQ(stats.oldest_key_set_age, absl::Minutes(10));
}

}  // namespace
}  // namespace tokend

namespace tokend {
namespace {

// The wall clock jumping back after a failed cold fetch does not stretch the gap before the
// next attempt (it is 10 s of elapsed time), nor does a jump forward shorten it.
class JwksCacheWallJumpTest : public JwksCacheTest,
                              public ::testing::WithParamInterface<absl::Duration> {};

TEST_P(JwksCacheWallJumpTest, FailureGapFollowsElapsedTime) {
  http_.PushError(absl::UnavailableError("name not resolved"));
  Result failed;
  Get(failed, "k1");
  runner_.RunUntilIdle();
  ASSERT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(http_.request_count(), 1u);

  clock_.JumpWall(GetParam());
  clock_.Advance(absl::Seconds(9));
  Result within;
  Get(within, "k1");
  ASSERT_TRUE(within.done());  // Still inside the gap: no request.
  EXPECT_EQ(within.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(http_.request_count(), 1u);

  clock_.Advance(absl::Seconds(1));
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({0}));
  Result after;
  Get(after, "k1");
  runner_.RunUntilIdle();
  EXPECT_THAT(after.status(), IsOk());
  EXPECT_EQ(http_.request_count(), 3u);
}

INSTANTIATE_TEST_SUITE_P(BackAndForward, JwksCacheWallJumpTest,
                         ::testing::Values(absl::Hours(-2), absl::Hours(2)));

// The hourly refresh and the unknown-kid interval follow elapsed time, not the wall clock.
TEST_F(JwksCacheTest, WallClockJumpsDoNotMoveRefreshOrRefetchIntervals) {
  Warm();
  clock_.JumpWall(absl::Hours(-3));
  // An unknown kid 5 minutes (of elapsed time) after the fetch may refetch.
  clock_.Advance(absl::Minutes(5));
  http_.Push(200, Jwks({0, 1, 2}));
  Result refetched;
  Get(refetched, "k3");
  runner_.RunUntilIdle();
  EXPECT_THAT(refetched.kids(), ElementsAre("k1", "k2", "k3"));
  EXPECT_EQ(http_.request_count(), 3u);
  // Forward now: another unknown kid within 5 minutes of elapsed time is not refetched.
  clock_.JumpWall(absl::Hours(6));
  Result limited;
  Get(limited, "k4");
  ASSERT_TRUE(limited.done());
  EXPECT_EQ(http_.request_count(), 3u);
  // The background refresh comes an hour after the last fetch, jumps notwithstanding.
  http_.Push(200, Discovery(kV1Issuer, kCommonKeys));
  http_.Push(200, Jwks({1, 2}));
  runner_.AdvanceAndRun(absl::Minutes(59));
  EXPECT_EQ(http_.request_count(), 3u);
  runner_.AdvanceAndRun(absl::Minutes(1));
  EXPECT_EQ(http_.request_count(), 5u);
}

}  // namespace
}  // namespace tokend
