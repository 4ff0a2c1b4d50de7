// renewal_simulation: how many token requests one cache key costs over a simulated day of
// steady load. The real TokenCache and TokenFetcher run against a fake clock, a deterministic
// task runner and a scripted identity provider, so a day takes milliseconds and the count is
// exact. Usage: tokend-renewal-simulation [--hours 24] [--lifetime 3599] [--every 1s]
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "service/common/logging.h"
#include "service/core/token_cache.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_http_client.h"
#include "tests/testing/fake_task_runner.h"

namespace tokend {
namespace {

struct Result {
  int64_t requests = 0;
  int64_t calls = 0;
  int64_t waited = 0;  // Calls not answered at once from memory.
};

Result Simulate(absl::Duration span, int lifetime_seconds, absl::Duration every) {
  testing::FakeClock clock;
  testing::FakeTaskRunner runner(clock);
  testing::FakeHttpClient http;
  TokenFetcher fetcher(http, clock, "https://login.microsoftonline.com");
  TokenCache cache(fetcher, clock, runner);
  auto credential = std::make_shared<Credential>();
  credential->name = "mde";
  credential->tenant_id = "contoso.onmicrosoft.com";
  credential->client_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  credential->client_secret = SecretString("simulated");
  credential->version = "1";
  TokenRequest request;
  request.credential = credential;
  request.tenant = credential->tenant_id;
  request.target.resource = "https://api.securitycenter.microsoft.com";

  int64_t max_requests = span / absl::Seconds(lifetime_seconds) * 4 + 16;
  for (int64_t i = 0; i < max_requests; ++i) {
    http.Push(200, absl::StrCat(R"({"token_type":"Bearer","access_token":"t)", i,
                                R"(","expires_in":)", lifetime_seconds, "}"));
  }
  Result result;
  absl::Time end = clock.TimeNow() + span;
  while (clock.TimeNow() < end) {
    bool answered = false;
    cache.Get(request, [&](absl::StatusOr<CachedToken> token) { answered = token.ok(); });
    ++result.calls;
    if (!answered) ++result.waited;
    runner.AdvanceAndRun(every);
  }
  result.requests = static_cast<int64_t>(http.request_count());
  return result;
}

int Main(int argc, char** argv) {
  int hours = 24;
  int lifetime = 3599;
  absl::Duration every = absl::Seconds(1);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    bool ok = true;
    if (flag == "--hours") {
      ok = absl::SimpleAtoi(value, &hours) && hours > 0;
    } else if (flag == "--lifetime") {
      ok = absl::SimpleAtoi(value, &lifetime) && lifetime > 0;
    } else if (flag == "--every") {
      ok = absl::ParseDuration(value, &every) && every > absl::ZeroDuration();
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr << "usage: tokend-renewal-simulation [--hours N] [--lifetime SECONDS] "
                   "[--every DURATION]\n";
      return 2;
    }
  }
  SetLogLevel(LogLevel::kError);
  Result hour = Simulate(absl::Hours(1), lifetime, every);
  Result day = Simulate(absl::Hours(hours), lifetime, every);
  nlohmann::json out = {{"token_lifetime_s", lifetime},
                        {"call_every_ms", absl::ToInt64Milliseconds(every)},
                        {"requests_first_hour", hour.requests},
                        {"simulated_hours", hours},
                        {"requests", day.requests},
                        {"calls", day.calls},
                        {"calls_that_waited", day.waited}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace tokend

int main(int argc, char** argv) { return tokend::Main(argc, argv); }
