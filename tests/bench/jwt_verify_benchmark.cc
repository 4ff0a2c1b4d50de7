// Micro-benchmarks of token verification in the library, next to the physical limit: a raw
// OpenSSL RS256 verify loop (EVP_DigestVerify on a prepared key and signing input). Every
// benchmark cycles through the same 64 distinct RS256 tokens, signed by three RSA-2048 keys of
// one JwkSet. BM_VerifySignature and BM_FullCheck include ParseJwt; BM_VerifySignatureParsed
// does not.
//
//   tokend-jwt-verify-benchmark [--corpus_out=DIR] [--benchmark_repetitions=5 ...]
//
// --corpus_out=DIR also writes the tokens (tokens.txt), their keys (jwks.json) and what a
// verifier should expect (expected.json) for the peer libraries in tests/bench/peers.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "service/common/openssl_ptr.h"
#include "service/core/jwks.h"
#include "service/core/jwt.h"
#include "service/core/jwt_verifier.h"
#include "tests/testing/jwt_signer.h"

namespace tokend {
namespace {

using testing::SigningAlg;
using testing::TestKey;

constexpr int kTokens = 64;
constexpr int64_t kNowSeconds = 1800000000;
constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";

struct Fixture {
  Fixture() {
    std::vector<nlohmann::json> jwks;
    for (int k = 0; k < 3; ++k) {
      keys.push_back(TestKey::Rsa(2048, absl::StrCat("key-", k)));
      jwks.push_back(keys.back().Jwk());
    }
    jwks_json = testing::JwksJson(jwks);
    set = *ParseJwks(testing::JwksJson(jwks));
    for (int i = 0; i < kTokens; ++i) {
      const TestKey& key = keys[static_cast<size_t>(i % 3)];
      nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", key.kid()}};
      nlohmann::json claims = {{"aud", "https://api.securitycenter.microsoft.com"},
                               {"iss", absl::StrCat("https://sts.windows.net/", kTenant, "/")},
                               {"iat", kNowSeconds - 60},
                               {"nbf", kNowSeconds - 60},
                               {"exp", kNowSeconds + 3600 + i},
                               {"appid", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"},
                               {"appidacr", "1"},
                               {"idtyp", "app"},
                               {"oid", "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"},
                               {"roles", {"Machine.Read.All", "Alert.Read.All", "Ti.ReadWrite"}},
                               {"sub", "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"},
                               {"tid", kTenant},
                               {"uti", absl::StrCat("unique-token-", i)},
                               {"ver", "1.0"}};
      tokens.push_back(key.Sign(SigningAlg::kRs256, header.dump(), claims.dump()));
      // What the raw loop needs, prepared outside it.
      Jwt jwt = *ParseJwt(tokens.back());
      raw_keys.push_back(set.Find(jwt.kid)->key.get());
      signing_inputs.push_back(jwt.signing_input);
      signatures.push_back(jwt.signature);
      parsed.push_back(std::move(jwt));
    }
    expected.issuer = absl::StrCat("https://sts.windows.net/", kTenant, "/");
    expected.audiences = {"https://api.securitycenter.microsoft.com"};
    expected.tenant_allowed = [](const std::string& tid) { return tid == kTenant; };
    expected.required_roles = {"Machine.Read.All"};
  }

  std::vector<TestKey> keys;
  std::string jwks_json;
  JwkSet set;
  std::vector<std::string> tokens;
  std::vector<EVP_PKEY*> raw_keys;  // Owned by set.
  std::vector<std::string> signing_inputs;
  std::vector<std::string> signatures;
  std::vector<Jwt> parsed;  // The tokens, parsed outside the loop.
  ClaimExpectations expected;
  JwtVerifier verifier = *JwtVerifier::Create({});
};

const Fixture& GetFixture() {
  static const Fixture* fixture = new Fixture();
  return *fixture;
}

void BM_RawOpenSslRs256Verify(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    const size_t n = i++ % kTokens;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    const auto* sig = reinterpret_cast<const unsigned char*>(f.signatures[n].data());
    const auto* input = reinterpret_cast<const unsigned char*>(f.signing_inputs[n].data());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, Sha256(), nullptr, f.raw_keys[n]) != 1 ||
        EVP_DigestVerify(ctx.get(), sig, f.signatures[n].size(), input,
                         f.signing_inputs[n].size()) != 1) {
      state.SkipWithError("raw verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawOpenSslRs256Verify);

void BM_ParseJwt(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Jwt> jwt = ParseJwt(f.tokens[i++ % kTokens]);
    if (!jwt.ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(jwt);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseJwt);

void BM_VerifySignature(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Jwt> jwt = ParseJwt(f.tokens[i++ % kTokens]);
    if (!jwt.ok() || f.verifier.VerifySignature(*jwt, f.set, nullptr) != JwtFailure::kNone) {
      state.SkipWithError("verification failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifySignature);

// VerifySignature alone on already parsed tokens: the library's overhead over the raw loop.
void BM_VerifySignatureParsed(benchmark::State& state) {
  const Fixture& f = GetFixture();
  size_t i = 0;
  for (auto _ : state) {
    if (f.verifier.VerifySignature(f.parsed[i++ % kTokens], f.set, nullptr) != JwtFailure::kNone) {
      state.SkipWithError("verification failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifySignatureParsed);

void BM_FullCheck(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const absl::Time now = absl::FromUnixSeconds(kNowSeconds);
  std::vector<std::string> missing_roles;
  std::string detail;
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Jwt> jwt = ParseJwt(f.tokens[i++ % kTokens]);
    if (!jwt.ok() || f.verifier.VerifySignature(*jwt, f.set, &detail) != JwtFailure::kNone ||
        f.verifier.CheckTime(*jwt, now, &detail) != JwtFailure::kNone ||
        CheckClaims(*jwt, f.expected, &missing_roles, &detail) != JwtFailure::kNone) {
      state.SkipWithError("check failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FullCheck);

// Writes the corpus for the peers; false if a file cannot be written.
bool WriteCorpus(const std::string& dir) {
  const Fixture& f = GetFixture();
  std::ofstream tokens(dir + "/tokens.txt");
  for (const std::string& token : f.tokens) tokens << token << "\n";
  std::ofstream jwks(dir + "/jwks.json");
  jwks << f.jwks_json;
  std::ofstream expected(dir + "/expected.json");
  expected << nlohmann::json{{"issuer", f.expected.issuer},
                             {"audience", f.expected.audiences[0]},
                             {"now", kNowSeconds},
                             {"role", f.expected.required_roles[0]}}
                  .dump();
  return tokens.flush() && jwks.flush() && expected.flush();
}

}  // namespace
}  // namespace tokend

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--corpus_out=", 0) == 0) {
      if (!tokend::WriteCorpus(arg.substr(13))) {
        std::cerr << "cannot write the corpus to " << arg.substr(13) << "\n";
        return 1;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
