#include "service/adapters/metered_http_client.h"

#include <chrono>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"

namespace tokend {

IdpEndpoint EndpointOf(const std::string& url) {
  const std::string::size_type query = url.find('?');
  const std::string path = url.substr(0, query);
  if (absl::StrContains(path, "/.well-known/openid-configuration")) return IdpEndpoint::kDiscovery;
  if (absl::StrContains(path, "/oauth2/") && absl::EndsWith(path, "token")) {
    return IdpEndpoint::kToken;
  }
  return IdpEndpoint::kKeys;
}

absl::StatusOr<HttpResponse> MeteredHttpClient::Send(const HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResponse> response = inner_->Send(request);
  const absl::Duration elapsed = absl::FromChrono(std::chrono::steady_clock::now() - start);
  int status = 0;
  std::string oauth_error;
  if (response.ok()) {
    status = response->status;
    if (status >= 400 && status < 500 && status != 429) {
      // An error reply carries no secret; only its `error` code is kept, mapped to a fixed set.
      const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
      if (body.is_object() && body.contains("error") && body["error"].is_string()) {
        oauth_error = body["error"].get<std::string>();
      }
    }
  }
  metrics_.IdpRequest(EndpointOf(request.url), status, oauth_error, elapsed);
  return response;
}

}  // namespace tokend
