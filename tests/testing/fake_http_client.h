// FakeHttpClient: answers from a script and records every request. Thread-safe.
//   http.Push(200, R"({"access_token":...})");
//   http.PushError(absl::UnavailableError("connection refused"));
// With nothing scripted it answers UNAVAILABLE.
#ifndef TOKEND_TESTS_TESTING_FAKE_HTTP_CLIENT_H_
#define TOKEND_TESTS_TESTING_FAKE_HTTP_CLIENT_H_

#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "service/core/http_client.h"

namespace tokend {
namespace testing {

class FakeHttpClient : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    std::function<void()> during;
    absl::StatusOr<HttpResponse> next = absl::UnavailableError("fake: nothing scripted");
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      std::swap(during, during_next_send_);
      if (!script_.empty()) {
        next = std::move(script_.front());
        script_.pop_front();
      }
    }
    if (during) during();  // As if it happened while the request was out.
    return next;
  }

  // Runs `during` inside the next Send(), after the request is recorded and before the reply
  // is returned: something that happens while a request is out.
  void DuringNextSend(std::function<void()> during) {
    absl::MutexLock lock(&mu_);
    during_next_send_ = std::move(during);
  }

  void Push(int status, std::string body,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(response));
  }
  void PushError(absl::Status status) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(status));
  }

  std::vector<HttpRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t request_count() {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::StatusOr<HttpResponse>> script_ ABSL_GUARDED_BY(mu_);
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::function<void()> during_next_send_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_TESTING_FAKE_HTTP_CLIENT_H_
