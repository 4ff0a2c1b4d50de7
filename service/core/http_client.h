// HttpClient: how the core talks to the identity provider. It is an interface so that tests
// can script replies (FakeHttpClient) and so that the core includes no libcurl header.
#ifndef TOKEND_SERVICE_CORE_HTTP_CLIENT_H_
#define TOKEND_SERVICE_CORE_HTTP_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"

namespace tokend {

struct HttpRequest {
  std::string method = "GET";                                // "GET" or "POST".
  std::string url;                                           // Absolute http(s) URL.
  std::vector<std::pair<std::string, std::string>> headers;  // Name, value.
  SecretString body;  // For POST; may hold a client secret: wiped when freed.
  absl::Duration timeout = absl::Seconds(10);  // Whole request, connect included.
};

struct HttpResponse {
  int status = 0;                                            // HTTP status code.
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string body;

  // The first header named `name` (lower-case), or "" if absent.
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and returns the response, whatever its HTTP status. UNAVAILABLE when no
  // response arrived (connection refused or dropped, TLS failure, name not resolved),
  // DEADLINE_EXCEEDED when `timeout` passed, RESOURCE_EXHAUSTED for an oversized body. Error
  // messages never contain the request body. Thread-safe.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_HTTP_CLIENT_H_
