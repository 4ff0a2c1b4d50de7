#include "tests/bench/fake_token.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tokend::bench {

std::vector<std::string> FakeRoles() {
  return {"Machine.Read.All", "Alert.Read.All", "Vulnerability.Read.All"};
}

std::string FakeAccessToken(int64_t expires_at_unix) {
  const int64_t issued_at = expires_at_unix - 3600 - 300;
  const std::string header = R"({"typ":"JWT","alg":"RS256","x5t":"kWbkaa6qs8wsTnBwiiNYOhHbnAw",)"
                             R"("kid":"kWbkaa6qs8wsTnBwiiNYOhHbnAw"})";
  const std::string payload = absl::StrCat(
      R"({"aud":")", kFakeResource, R"(","iss":"https://sts.windows.net/)", kFakeTenantId,
      R"(/","iat":)", issued_at, R"(,"nbf":)", issued_at, R"(,"exp":)", expires_at_unix,
      R"(,"aio":"E2VgYJiuL3rTnGxo4x7k2eN9+2jvBwA=","app_displayname":"tokend-bench","appid":")",
      kFakeAppId, R"(","appidacr":"1","idtyp":"app","oid":")", kFakeObjectId, R"(","roles":[")",
      absl::StrJoin(FakeRoles(), "\",\""), R"("],"sub":")", kFakeObjectId, R"(","tid":")",
      kFakeTenantId, R"(","uti":"mZx5q0hYk0u2b3s4d5e6AA","ver":"1.0"})");
  // An RSA-2048 signature is 256 bytes.
  std::string signature(256, '\0');
  for (size_t i = 0; i < signature.size(); ++i) signature[i] = static_cast<char>(i * 37 + 11);
  return absl::StrCat(absl::WebSafeBase64Escape(header), ".", absl::WebSafeBase64Escape(payload),
                      ".", absl::WebSafeBase64Escape(signature));
}

}  // namespace tokend::bench
