// A transport-neutral HTTP reply, produced by the protocol logic and written out by the server.
#ifndef TOKEND_TESTS_DEVIDP_HTTP_REPLY_H_
#define TOKEND_TESTS_DEVIDP_HTTP_REPLY_H_

#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace tokend {
namespace devidp {

// Serialises `value` compactly; invalid UTF-8 in strings is replaced, never thrown on.
std::string DumpJson(const nlohmann::json& value);
std::string DumpJson(const nlohmann::ordered_json& value);

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // Extra response headers.

  // Returns a JSON reply with `status` and `body`.
  template <typename Json>
  static HttpReply FromJson(int status, const Json& body) {
    HttpReply reply;
    reply.status = status;
    reply.body = DumpJson(body);
    return reply;
  }
};

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_HTTP_REPLY_H_
