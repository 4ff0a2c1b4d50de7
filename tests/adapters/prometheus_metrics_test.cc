// PrometheusMetrics renders what it was told, in the text format, with label values from fixed
// sets; MeteredHttpClient classifies identity provider requests. The HTTP side of the metrics
// port is tested end to end in tests/integration/metrics_integration_test.cc.
#include "service/adapters/prometheus_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/adapters/metered_http_client.h"
#include "tests/testing/fake_http_client.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PrometheusMetricsTest, CountsEveryKindOfEvent) {
  PrometheusMetrics metrics("1.2.3");
  metrics.TokenLookup("mde", true);
  metrics.TokenLookup("mde", true);
  metrics.TokenLookup("mde", false);
  metrics.TokenRequest("mde", RenewalOutcome::kTransientFailure);
  metrics.KeyFetch(KeyDocument::kKeys, FetchOutcome::kRejected);
  metrics.Validation(JwtFailure::kNone);
  metrics.Validation(JwtFailure::kExpired);
  metrics.Rpc("GetToken", 0, absl::Microseconds(300));
  metrics.Rpc("GetToken", 14, absl::Milliseconds(3));
  metrics.Rpc("WatchToken", 0, absl::ZeroDuration());
  metrics.Rpc("NoSuchMethod", 0, absl::ZeroDuration());  // Ignored: not a TokenService method.
  metrics.SecretReload("mde", false);
  metrics.SecretLoaded("mde", absl::FromUnixSeconds(1700000000));
  metrics.IdpRequest(IdpEndpoint::kToken, 400, "invalid_client", absl::Milliseconds(20));
  metrics.IdpRequest(IdpEndpoint::kToken, 400, "some_new_error", absl::Milliseconds(20));
  metrics.IdpRequest(IdpEndpoint::kDiscovery, 0, "", absl::Seconds(10));

  const std::string text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr("tokend_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_token_cache_requests_total{credential=\"mde\","
                              "result=\"hit\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tokend_token_cache_requests_total{credential=\"mde\","
                              "result=\"miss\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_token_renewals_total{credential=\"mde\","
                              "outcome=\"transient_failure\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_key_fetches_total{document=\"keys\","
                              "outcome=\"rejected\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_validations_total{failure=\"none\",result=\"valid\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("tokend_validations_total{failure=\"expired\",result=\"invalid\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_grpc_requests_total{code=\"OK\",method=\"GetToken\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_grpc_requests_total{code=\"UNAVAILABLE\","
                              "method=\"GetToken\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_grpc_requests_total{code=\"OK\",method=\"WatchToken\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("NoSuchMethod")));
  EXPECT_THAT(text,
              HasSubstr("tokend_grpc_request_duration_seconds_count{method=\"GetToken\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tokend_grpc_request_duration_seconds_bucket{method=\"GetToken\","
                              "le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text,
              Not(HasSubstr("tokend_grpc_request_duration_seconds_count{method=\"WatchToken\"")));
  EXPECT_THAT(text, HasSubstr("tokend_secret_reloads_total{credential=\"mde\","
                              "result=\"failure\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_secret_loaded_timestamp_seconds{credential=\"mde\"} "
                              "1700000000\n"));
  EXPECT_THAT(text,
              HasSubstr("tokend_idp_requests_total{endpoint=\"token\",error=\"invalid_client\","
                        "outcome=\"client_error\"} 1\n"));
  // An error code outside the fixed set is not echoed into a label.
  EXPECT_THAT(text, HasSubstr("tokend_idp_requests_total{endpoint=\"token\",error=\"other\","
                              "outcome=\"client_error\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("some_new_error")));
  EXPECT_THAT(text, HasSubstr("tokend_idp_requests_total{endpoint=\"discovery\",error=\"\","
                              "outcome=\"transport_error\"} 1\n"));
  // No scrape source yet: the read gauges are absent rather than wrong.
  EXPECT_THAT(text, Not(HasSubstr("tokend_token_cache_entries")));
}

TEST(PrometheusMetricsTest, CountsPolicyAndTlsEvents) {
  PrometheusMetrics metrics("1");
  // Before any event the result series exist at 0, so that rate() and alerts see them.
  std::string text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr("tokend_policy_reloads_total{result=\"failure\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tokend_policy_reloads_total{result=\"success\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tokend_tls_reloads_total{result=\"failure\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tokend_tls_client_denials_total 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("tokend_policy_denials_total{")));

  metrics.PolicyDenial("defender-reader");
  metrics.PolicyDenial("defender-reader");
  metrics.PolicyDenial("");  // No rule names the caller.
  metrics.PolicyReload(true);
  metrics.PolicyReload(false);
  metrics.PolicyReload(false);
  metrics.TlsClientDenial();
  metrics.TlsReload(true);
  metrics.TlsReload(false);
  text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr("tokend_policy_denials_total{rule=\"defender-reader\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tokend_policy_denials_total{rule=\"none\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_policy_reloads_total{result=\"success\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_policy_reloads_total{result=\"failure\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tokend_tls_client_denials_total 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_tls_reloads_total{result=\"success\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_tls_reloads_total{result=\"failure\"} 1\n"));
}

TEST(PrometheusMetricsTest, GaugesComeFromTheScrapeSourceAtEachScrape) {
  PrometheusMetrics metrics("1");
  int scrapes = 0;
  metrics.SetScrapeSource([&](ScrapeState* state) {
    ++scrapes;
    state->token_cache_entries = 3;
    state->token_seconds_until_expiry["mde"] = 1234.5;
    state->credential_up["mde"] = true;
    state->credential_up["broken"] = false;
    state->certificate_expiry_timestamp["cert"] = 1800000000;
    state->keys_held = 4;
    state->key_sets = 2;
    state->key_set_age_seconds = 60;
  });
  const std::string text = metrics.Scrape();
  EXPECT_EQ(scrapes, 1);
  EXPECT_THAT(text, HasSubstr("# TYPE tokend_token_cache_entries gauge\n"));
  EXPECT_THAT(text, HasSubstr("tokend_token_cache_entries 3\n"));
  EXPECT_THAT(text,
              HasSubstr("tokend_token_min_seconds_until_expiry{credential=\"mde\"} 1234.5\n"));
  EXPECT_THAT(text, HasSubstr("tokend_credential_up{credential=\"broken\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tokend_credential_up{credential=\"mde\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_keys_held 4\n"));
  EXPECT_THAT(
      text,
      HasSubstr("tokend_certificate_expiry_timestamp_seconds{credential=\"cert\"} 1800000000\n"));
  EXPECT_THAT(text, HasSubstr("tokend_key_sets 2\n"));
  EXPECT_THAT(text, HasSubstr("tokend_key_set_age_seconds 60\n"));
  metrics.Scrape();
  EXPECT_EQ(scrapes, 2);
}

TEST(MeteredHttpClientTest, ClassifiesEndpointsByPath) {
  EXPECT_EQ(EndpointOf("https://login.microsoftonline.com/t/oauth2/v2.0/token"),
            IdpEndpoint::kToken);
  EXPECT_EQ(EndpointOf("https://login.microsoftonline.com/t/oauth2/token"), IdpEndpoint::kToken);
  EXPECT_EQ(EndpointOf("https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"),
            IdpEndpoint::kDiscovery);
  EXPECT_EQ(EndpointOf("https://login.microsoftonline.com/t/discovery/v2.0/keys"),
            IdpEndpoint::kKeys);
  EXPECT_EQ(EndpointOf("https://login.microsoftonline.com/common/discovery/keys?appid=x"),
            IdpEndpoint::kKeys);
}

TEST(MeteredHttpClientTest, CountsRepliesAndPassesThemOnUnchanged) {
  PrometheusMetrics metrics("1");
  auto fake = std::make_unique<testing::FakeHttpClient>();
  testing::FakeHttpClient& http = *fake;
  MeteredHttpClient client(std::move(fake), metrics);
  const std::string rejected =
      R"({"error":"invalid_client","error_description":"AADSTS7000215: bad"})";
  http.Push(401, rejected);
  http.PushError(absl::UnavailableError("connection refused"));
  HttpRequest request;
  request.url = "https://idp/t/oauth2/v2.0/token";
  absl::StatusOr<HttpResponse> first = client.Send(request);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 401);
  EXPECT_EQ(first->body, rejected);
  EXPECT_FALSE(client.Send(request).ok());
  const std::string text = metrics.Scrape();
  EXPECT_THAT(text,
              HasSubstr("tokend_idp_requests_total{endpoint=\"token\",error=\"invalid_client\","
                        "outcome=\"client_error\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_idp_requests_total{endpoint=\"token\",error=\"\","
                              "outcome=\"transport_error\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tokend_idp_request_duration_seconds_count{endpoint=\"token\"} 2\n"));
}

}  // namespace
}  // namespace tokend
