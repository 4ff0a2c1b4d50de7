// tokend-bench-tokens: asks an identity provider's v1 token endpoint (the development identity
// provider in the benchmarks) for COUNT distinct access tokens with the client-credentials grant
// and writes one ValidateToken request per line, in proto JSON, for
// `tokend-loadgen --method ValidateToken --requests-file`. Test tool: the secret is a flag.
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "service/common/flag_parser.h"

namespace tokend::bench {
namespace {

FlagParser MakeFlagParser() {
  auto flag = [](const char* name, const char* value_name, std::string help,
                 const char* default_value) {
    return FlagSpec{name, value_name, std::move(help), default_value, "", false};
  };
  return FlagParser({
      flag("idp", "URL", "The identity provider, http://127.0.0.1:PORT. Required.", ""),
      flag("tenant", "ID", "Tenant of the token endpoint.", "11111111-1111-1111-1111-111111111111"),
      flag("client-id", "ID", "Client id.", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"),
      flag("client-secret", "SECRET", "Client secret (of the development identity provider).",
           "dev-secret-1"),
      flag("resource", "URI", "Resource of the tokens.",
           "https://api.securitycenter.microsoft.com"),
      flag("role", "ROLE", "A required role to put in every request (optional).", ""),
      flag("count", "N", "Tokens to fetch.", "1000"),
      flag("threads", "N", "Requests in parallel.", "2"),
      flag("out", "FILE", "Where to write the requests. Required.", ""),
  });
}

int Main(int argc, char** argv) {
  const FlagParser parser = MakeFlagParser();
  absl::StatusOr<FlagValues> values =
      parser.Parse(std::vector<std::string>(argv + 1, argv + argc), nullptr);
  if (values.ok() && values->help()) {
    std::cout << "Usage: tokend-bench-tokens --idp URL --out FILE [flags]\n\n" << parser.Usage();
    return 0;
  }
  int count = 0;
  int threads = 0;
  if (!values.ok() || values->Get("idp").empty() || values->Get("out").empty() ||
      !absl::SimpleAtoi(values->Get("count"), &count) || count < 1 ||
      !absl::SimpleAtoi(values->Get("threads"), &threads) || threads < 1 || threads > 64) {
    std::cerr << "tokend-bench-tokens: "
              << (values.ok() ? "--idp and --out are required; --count and --threads positive"
                              : std::string(values.status().message()))
              << "\n";
    return 2;
  }
  const std::string path = absl::StrCat("/", values->Get("tenant"), "/oauth2/token");
  const httplib::Params form = {{"grant_type", "client_credentials"},
                                {"client_id", values->Get("client-id")},
                                {"client_secret", values->Get("client-secret")},
                                {"resource", values->Get("resource")}};
  const std::string role = values->Get("role");

  std::mutex mu;
  std::vector<std::string> lines;
  std::string error;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      httplib::Client client(values->Get("idp"));
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // Else Nagle and delayed ACKs cost 40 ms a request.
      for (int i = t; i < count; i += threads) {
        httplib::Result result = client.Post(path.c_str(), form);
        std::string token;
        if (result && result->status == 200) {
          const nlohmann::json body = nlohmann::json::parse(result->body, nullptr, false);
          if (body.is_object() && body.contains("access_token") &&
              body["access_token"].is_string()) {
            token = body["access_token"].get<std::string>();
          }
        }
        nlohmann::json request = {{"token", token}};
        if (!role.empty()) request["requiredRoles"] = {role};
        std::lock_guard<std::mutex> lock(mu);
        if (token.empty()) {
          error = result ? absl::StrCat("HTTP ", result->status, " from ", path)
                         : absl::StrCat("no reply from ", values->Get("idp"));
          return;
        }
        lines.push_back(request.dump());
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  if (!error.empty()) {
    std::cerr << "tokend-bench-tokens: " << error << "\n";
    return 1;
  }
  std::ofstream out(values->Get("out"));
  for (const std::string& line : lines) out << line << "\n";
  if (!out.flush()) {
    std::cerr << "tokend-bench-tokens: cannot write " << values->Get("out") << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tokend::bench

int main(int argc, char** argv) { return tokend::bench::Main(argc, argv); }
