// Tests of tokend-devidp: an IdpServer runs in-process on a free loopback port and is driven
// over HTTP with httplib::Client; a few tests run the tokend-devidp binary itself.
// Secrets never go into failure messages.
#include <httplib.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/devidp/base64url.h"
#include "tests/devidp/client_assertion_verifier.h"
#include "tests/devidp/form_encoding.h"
#include "tests/devidp/guid.h"
#include "tests/devidp/idp_config.h"
#include "tests/devidp/idp_server.h"
#include "tests/devidp/openssl_ptr.h"
#include "tests/devidp/rsa_signing_key.h"
#include "tests/testing/jwt_signer.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

extern char** environ;

namespace tokend {
namespace devidp {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using ::tokend::testing::IsOk;
using ::tokend::testing::StatusIs;

constexpr char kFormType[] = "application/x-www-form-urlencoded";
constexpr char kV2Path[] = "/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token";
constexpr char kV1Path[] = "/11111111-1111-1111-1111-111111111111/oauth2/token";
constexpr char kDefenderScope[] = "https://api.securitycenter.microsoft.com/.default";

// Returns the body of `result` parsed as JSON (discarded if it is not JSON or there is none).
json Body(const httplib::Result& result) {
  if (!result) return json(json::value_t::discarded);
  return json::parse(result->body, nullptr, false);
}

// Returns part `index` (0 header, 1 payload) of a compact JWT, decoded.
json JwtPart(const std::string& token, int index) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return json(json::value_t::discarded);
  absl::StatusOr<std::string> decoded = Base64UrlDecode(parts[static_cast<size_t>(index)]);
  if (!decoded.ok()) return json(json::value_t::discarded);
  return json::parse(*decoded, nullptr, false);
}

// Returns true iff `token`'s RS256 signature verifies with the RSA key (n, e) of `jwk`.
bool VerifiesWith(const std::string& token, const json& jwk) {
  absl::StatusOr<std::string> n = Base64UrlDecode(jwk.at("n").get<std::string>());
  absl::StatusOr<std::string> e = Base64UrlDecode(jwk.at("e").get<std::string>());
  if (!n.ok() || !e.ok()) return false;
  BignumPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr));
  OsslParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return false;
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return false;
  }
  EvpPkeyPtr pkey(raw);
  const size_t dot = token.rfind('.');
  absl::StatusOr<std::string> signature = Base64UrlDecode(token.substr(dot + 1));
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!signature.ok() || !md ||
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                          signature->size(), reinterpret_cast<const unsigned char*>(token.data()),
                          dot) == 1;
}

// Returns the JWK with `kid` in the JWKS `keys`, or null.
json FindKey(const json& keys, const std::string& kid) {
  for (const json& key : keys.value("keys", json::array())) {
    if (key.value("kid", "") == kid) return key;
  }
  return json();
}

std::vector<std::string> Kids(const json& keys) {
  std::vector<std::string> kids;
  for (const json& key : keys.value("keys", json::array())) kids.push_back(key.value("kid", ""));
  return kids;
}

class DevIdpTest : public ::testing::Test {
 protected:
  // One RSA key for all servers of the suite: key generation dominates the start-up time.
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RsaSigningKey>> key = RsaSigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    shared_key_ = *std::move(key);
  }
  static void TearDownTestSuite() { shared_key_.reset(); }

  void SetUp() override { StartServer(IdpConfig::Default(), IdpServerOptions()); }

  void StartServer(IdpConfig config, IdpServerOptions options) {
    server_.reset();
    options.signing_key = shared_key_;
    absl::StatusOr<std::unique_ptr<IdpServer>> server =
        IdpServer::Start(std::move(config), std::move(options));
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }

  std::unique_ptr<httplib::Client> NewClient() {
    auto client = std::make_unique<httplib::Client>(server_->listening_url());
    client->set_connection_timeout(5);
    client->set_read_timeout(10);
    client->set_tcp_nodelay(true);
    return client;
  }

  // The v2 form of the default app for `scope`, authenticated with `secret`.
  static FormFields V2Form(const std::string& scope = kDefenderScope,
                           const std::string& secret = kDefaultClientSecret) {
    return {{"grant_type", "client_credentials"},
            {"client_id", kDefaultClientId},
            {"client_secret", secret},
            {"scope", scope}};
  }

  // The v1 form of the default app for `resource`.
  static FormFields V1Form(const std::string& resource = kDefenderResource) {
    return {{"grant_type", "client_credentials"},
            {"client_id", kDefaultClientId},
            {"client_secret", kDefaultClientSecret},
            {"resource", resource}};
  }

  httplib::Result PostForm(const std::string& path, const FormFields& form,
                           const httplib::Headers& headers = {}) {
    return NewClient()->Post(path.c_str(), headers, EncodeForm(form), kFormType);
  }

  httplib::Result PostJson(const std::string& path, const json& body) {
    return NewClient()->Post(path.c_str(), body.dump(), "application/json");
  }

  httplib::Result Get(const std::string& path) { return NewClient()->Get(path.c_str()); }

  // Requests a token and returns its access_token ("" on failure, with a test failure).
  std::string Token(const std::string& path, const FormFields& form) {
    httplib::Result result = PostForm(path, form);
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return "";
    EXPECT_EQ(result->status, 200) << result->body;
    return Body(result).value("access_token", "");
  }

  std::string V2Token(const std::string& scope = kDefenderScope) {
    return Token(kV2Path, V2Form(scope));
  }

  json Keys(const std::string& path = "/common/discovery/keys") { return Body(Get(path)); }

  void AddFault(const json& fault) {
    httplib::Result result = PostJson("/_devidp/faults", fault);
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
  }

  static std::shared_ptr<const RsaSigningKey> shared_key_;
  std::unique_ptr<IdpServer> server_;
};

std::shared_ptr<const RsaSigningKey> DevIdpTest::shared_key_;

// ---------------------------------------------------------------------------------------------
// Token endpoint: success shapes.

TEST_F(DevIdpTest, V2TokenResponseHasNumericFields) {
  httplib::Result result = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = Body(result);
  EXPECT_EQ(body.value("token_type", ""), "Bearer");
  ASSERT_TRUE(body["expires_in"].is_number_integer());
  EXPECT_EQ(body["expires_in"].get<int>(), 3599);
  EXPECT_TRUE(body["ext_expires_in"].is_number_integer());
  EXPECT_TRUE(body["access_token"].is_string());
  EXPECT_FALSE(body.contains("refresh_in"));
  EXPECT_FALSE(body.contains("resource"));
  EXPECT_THAT(result->get_header_value("Content-Type"), StartsWith("application/json"));
  EXPECT_THAT(result->get_header_value("Cache-Control"), HasSubstr("no-store"));
}

TEST_F(DevIdpTest, V1TokenResponseHasNumbersAsStrings) {
  httplib::Result result = PostForm(kV1Path, V1Form());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = Body(result);
  EXPECT_EQ(body.value("token_type", ""), "Bearer");
  ASSERT_TRUE(body["expires_in"].is_string());
  EXPECT_EQ(body["expires_in"], "3599");
  EXPECT_TRUE(body["ext_expires_in"].is_string());
  ASSERT_TRUE(body["expires_on"].is_string());
  ASSERT_TRUE(body["not_before"].is_string());
  EXPECT_EQ(std::stoll(body["expires_on"].get<std::string>()) -
                std::stoll(body["not_before"].get<std::string>()),
            3599);
  EXPECT_EQ(body.value("resource", ""), kDefenderResource);
  EXPECT_TRUE(body["access_token"].is_string());
}

TEST_F(DevIdpTest, LifetimeAndRefreshInFollowTheConfigAndClock) {
  IdpConfig config = IdpConfig::Default();
  config.token_lifetime_seconds = 7200;
  config.refresh_in_seconds = 1800;
  IdpServerOptions options;
  const absl::Time fixed = absl::FromUnixSeconds(1700000000);
  options.clock = [fixed] { return fixed; };
  StartServer(std::move(config), std::move(options));

  const json v2 = Body(PostForm(kV2Path, V2Form()));
  EXPECT_EQ(v2.value("expires_in", 0), 7200);
  EXPECT_EQ(v2.value("refresh_in", 0), 1800);
  const json claims = JwtPart(v2.value("access_token", ""), 1);
  EXPECT_EQ(claims.value("iat", 0), 1700000000);
  EXPECT_EQ(claims.value("nbf", 0), 1700000000);
  EXPECT_EQ(claims.value("exp", 0), 1700000000 + 7200);

  const json v1 = Body(PostForm(kV1Path, V1Form()));
  EXPECT_EQ(v1.value("refresh_in", ""), "1800");
  EXPECT_EQ(v1.value("expires_on", ""), "1700007200");
  EXPECT_EQ(v1.value("not_before", ""), "1700000000");

  const json error = Body(PostForm(kV2Path, V2Form(kDefenderScope, "wrong")));
  EXPECT_EQ(error.value("timestamp", ""), "2023-11-14 22:13:20Z");
}

TEST_F(DevIdpTest, HttpBasicAuthenticationIsAccepted) {
  // A secret with characters that RFC 6749 2.3.1 form-encodes before base64.
  const std::string secret = "s3:cr et+/%&=";
  ASSERT_THAT(server_->directory().AddSecret(kDefaultClientId, {secret, false}), IsOk());
  const std::string credentials =
      Base64Encode(absl::StrCat(FormEncode(kDefaultClientId), ":", FormEncode(secret)));
  FormFields form = {{"grant_type", "client_credentials"}, {"scope", kDefenderScope}};

  httplib::Result result =
      PostForm(kV2Path, form, {{"Authorization", absl::StrCat("Basic ", credentials)}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;

  // Sending the secret in the body as well is two authentication methods.
  form["client_secret"] = secret;
  result = PostForm(kV2Path, form, {{"Authorization", absl::StrCat("Basic ", credentials)}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Body(result).value("error", ""), "invalid_request");
  EXPECT_FALSE(absl::StrContains(result->body, secret));
}

TEST_F(DevIdpTest, BasicAuthenticationWithWrongSecretIsInvalidClient) {
  const std::string credentials =
      Base64Encode(absl::StrCat(kDefaultClientId, ":", "not-the-secret"));
  httplib::Result result =
      PostForm(kV2Path, {{"grant_type", "client_credentials"}, {"scope", kDefenderScope}},
               {{"Authorization", absl::StrCat("Basic ", credentials)}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(Body(result)["error_codes"], json::array({7000215}));
}

// ---------------------------------------------------------------------------------------------
// Token endpoint: Entra-shaped errors.

struct ErrorCase {
  const char* name;
  std::string path;
  FormFields form;
  int status;
  const char* error;
  int code;
};

std::vector<ErrorCase> ErrorCases() {
  auto v2 = [](std::function<void(FormFields&)> edit) {
    FormFields form = {{"grant_type", "client_credentials"},
                       {"client_id", kDefaultClientId},
                       {"client_secret", kDefaultClientSecret},
                       {"scope", kDefenderScope}};
    edit(form);
    return form;
  };
  auto v1 = [](std::function<void(FormFields&)> edit) {
    FormFields form = {{"grant_type", "client_credentials"},
                       {"client_id", kDefaultClientId},
                       {"client_secret", kDefaultClientSecret},
                       {"resource", kDefenderResource}};
    edit(form);
    return form;
  };
  const std::string other_tenant = absl::StrCat("/", kOtherTenantId, "/oauth2/v2.0/token");
  return {
      {"wrong secret", kV2Path, v2([](FormFields& f) { f["client_secret"] = "nope"; }), 401,
       "invalid_client", 7000215},
      {"wrong secret v1", kV1Path, v1([](FormFields& f) { f["client_secret"] = "nope"; }), 401,
       "invalid_client", 7000215},
      {"expired secret", kV2Path,
       v2([](FormFields& f) { f["client_secret"] = kDefaultExpiredClientSecret; }), 401,
       "invalid_client", 7000222},
      {"unknown client id", kV2Path,
       v2([](FormFields& f) { f["client_id"] = "cccccccc-cccc-cccc-cccc-cccccccccccc"; }), 400,
       "unauthorized_client", 700016},
      {"app not in tenant", other_tenant, v2([](FormFields&) {}), 400, "unauthorized_client",
       700016},
      {"app not in tenant by domain", "/fabrikam.onmicrosoft.com/oauth2/token",
       v1([](FormFields&) {}), 400, "unauthorized_client", 700016},
      {"unknown tenant", "/33333333-3333-3333-3333-333333333333/oauth2/v2.0/token",
       v2([](FormFields&) {}), 400, "invalid_tenant", 90002},
      {"unknown domain", "/nowhere.onmicrosoft.com/oauth2/token", v1([](FormFields&) {}), 400,
       "invalid_tenant", 90002},
      {"scope without .default", kV2Path, v2([](FormFields& f) {
         f["scope"] = "https://api.securitycenter.microsoft.com/Ti.ReadWrite";
       }),
       400, "invalid_scope", 1002012},
      {"resource on v2", kV2Path, v2([](FormFields& f) { f["resource"] = kDefenderResource; }), 400,
       "invalid_request", 901002},
      {"unknown resource in scope", kV2Path,
       v2([](FormFields& f) { f["scope"] = "https://unknown.example.com/.default"; }), 400,
       "invalid_resource", 500011},
      {"unknown resource v1", kV1Path,
       v1([](FormFields& f) { f["resource"] = "https://unknown.example.com"; }), 400,
       "invalid_resource", 500011},
      {"missing secret", kV2Path, v2([](FormFields& f) { f.erase("client_secret"); }), 400,
       "invalid_request", 7000218},
      {"missing grant type", kV2Path, v2([](FormFields& f) { f.erase("grant_type"); }), 400,
       "unsupported_grant_type", 70003},
      {"password grant type", kV1Path, v1([](FormFields& f) { f["grant_type"] = "password"; }), 400,
       "unsupported_grant_type", 70003},
      {"common endpoint", "/common/oauth2/v2.0/token", v2([](FormFields&) {}), 400,
       "invalid_request", 9001023},
      {"organizations endpoint v1", "/organizations/oauth2/token", v1([](FormFields&) {}), 400,
       "invalid_request", 9001023},
      {"several resources", kV2Path, v2([](FormFields& f) {
         f["scope"] = absl::StrCat(kDefenderScope, " api://tokend-test/.default");
       }),
       400, "invalid_scope", 700022},
      {"malformed client assertion", kV2Path, v2([](FormFields& f) {
         f.erase("client_secret");
         f["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
         f["client_assertion"] = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln";
       }),
       400, "invalid_request", 50027},
      {"client assertion of an unregistered certificate", kV2Path, v2([](FormFields& f) {
         f.erase("client_secret");
         f["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
         f["client_assertion"] = tokend::testing::SignWithCertificate(
             tokend::testing::FixedCertificate(), tokend::testing::SigningAlg::kPs256,
             json{{"alg", "PS256"}, {"x5t#S256", tokend::testing::kFixedCertificateX5tS256}}.dump(),
             json{{"iss", kDefaultClientId},
                  {"sub", kDefaultClientId},
                  {"aud", "http://127.0.0.1/x"},
                  {"exp", 4102444800}}
                 .dump());
       }),
       401, "invalid_client", 700027},
  };
}

TEST_F(DevIdpTest, TokenErrorsAreEntraShaped) {
  for (const ErrorCase& test : ErrorCases()) {
    SCOPED_TRACE(test.name);
    httplib::Result result = PostForm(test.path, test.form);
    ASSERT_TRUE(result);
    const json body = Body(result);
    EXPECT_EQ(result->status, test.status) << result->body;
    EXPECT_EQ(body.value("error", ""), test.error);
    EXPECT_EQ(body["error_codes"], json::array({test.code}));
    EXPECT_EQ(body.value("error_uri", ""),
              absl::StrCat("https://login.microsoftonline.com/error?code=", test.code));
    const std::string trace_id = body.value("trace_id", "");
    const std::string correlation_id = body.value("correlation_id", "");
    EXPECT_TRUE(IsGuid(trace_id)) << trace_id;
    EXPECT_TRUE(IsGuid(correlation_id)) << correlation_id;
    EXPECT_THAT(body.value("timestamp", ""),
                MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
    const std::string description = body.value("error_description", "");
    EXPECT_THAT(description, StartsWith(absl::StrCat("AADSTS", test.code, ": ")));
    EXPECT_THAT(description, HasSubstr(absl::StrCat(
                                 "\r\nTrace ID: ", trace_id, "\r\nCorrelation ID: ", correlation_id,
                                 "\r\nTimestamp: ", body.value("timestamp", ""))));
    // Neither the real secret nor a wrong one is ever echoed.
    const std::string sent_secret =
        test.form.count("client_secret") ? test.form.at("client_secret") : kDefaultClientSecret;
    EXPECT_FALSE(absl::StrContains(result->body, sent_secret));
    EXPECT_FALSE(absl::StrContains(result->body, kDefaultClientSecret));
  }
}

// ---------------------------------------------------------------------------------------------
// Client assertions over HTTP (ClientAssertionVerifier has the detailed cases).

TEST_F(DevIdpTest, CertificateRegisteredThroughTheAdminApiSignsIn) {
  const tokend::testing::TestCertificate certificate = tokend::testing::MakeCertificate();
  httplib::Result added =
      PostJson(absl::StrCat("/_devidp/apps/", kDefaultClientId, "/certificates"),
               json{{"pem", certificate.certificate_pem}});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  const std::string thumbprint = tokend::testing::X5tS256(certificate);
  EXPECT_EQ(Body(added).value("x5t#S256", ""), thumbprint);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string assertion = tokend::testing::SignWithCertificate(
      certificate, tokend::testing::SigningAlg::kPs256,
      json{{"alg", "PS256"}, {"typ", "JWT"}, {"x5t#S256", thumbprint}}.dump(),
      json{{"aud", server_->listening_url() + kV2Path},
           {"iss", kDefaultClientId},
           {"sub", kDefaultClientId},
           {"jti", RandomGuid()},
           {"nbf", now},
           {"exp", now + 600}}
          .dump());
  FormFields form = {{"grant_type", "client_credentials"},
                     {"client_id", kDefaultClientId},
                     {"scope", "api://tokend-test/.default"},
                     {"client_assertion_type", kJwtBearerAssertionType},
                     {"client_assertion", assertion}};
  const std::string token = Token(kV2Path, form);
  EXPECT_EQ(JwtPart(token, 1).value("azpacr", ""), "2");  // Certificate, not secret ("1").
  httplib::Result removed = NewClient()->Delete(
      absl::StrCat("/_devidp/apps/", kDefaultClientId, "/certificates/", thumbprint).c_str());
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 200) << removed->body;
  httplib::Result refused = PostForm(kV2Path, form);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(Body(refused)["error_codes"], json::array({700027}));
}

TEST_F(DevIdpTest, FederatedTokenOfATrustedIssuerSignsIn) {
  const tokend::testing::TestKey key = tokend::testing::TestKey::Rsa(2048, "sa-key-1");
  const std::string issuer = "https://oidc.cluster.example.test";
  httplib::Result trusted = PostJson(
      "/_devidp/federated-issuers",
      json{{"issuer", issuer}, {"jwks", json::parse(tokend::testing::JwksJson({key.Jwk()}))}});
  ASSERT_TRUE(trusted);
  ASSERT_EQ(trusted->status, 200) << trusted->body;
  httplib::Result credential =
      PostJson(absl::StrCat("/_devidp/apps/", kDefaultClientId, "/federated-credentials"),
               json{{"issuer", issuer}, {"subject", "system:serviceaccount:apps:example"}});
  ASSERT_TRUE(credential);
  ASSERT_EQ(credential->status, 200) << credential->body;
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto token_of = [&](const std::string& subject) {
    return key.Sign(tokend::testing::SigningAlg::kRs256, R"({"alg":"RS256","kid":"sa-key-1"})",
                    json{{"aud", {kTokenExchangeAudience}},
                         {"iss", issuer},
                         {"sub", subject},
                         {"nbf", now - 10},
                         {"exp", now + 3600}}
                        .dump());
  };
  FormFields form = {{"grant_type", "client_credentials"},
                     {"client_id", kDefaultClientId},
                     {"resource", kDefenderResource},
                     {"client_assertion_type", kJwtBearerAssertionType},
                     {"client_assertion", token_of("system:serviceaccount:apps:example")}};
  EXPECT_EQ(JwtPart(Token(kV1Path, form), 1).value("appidacr", ""), "2");
  form["client_assertion"] = token_of("system:serviceaccount:apps:other");
  httplib::Result refused = PostForm(kV1Path, form);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(Body(refused)["error_codes"], json::array({70021}));
}

TEST_F(DevIdpTest, InvalidUtf8InRequestStillGetsAJsonError) {
  httplib::Result result =
      NewClient()->Post(kV1Path,
                        absl::StrCat("grant_type=client_credentials&client_id=", kDefaultClientId,
                                     "&client_secret=", kDefaultClientSecret, "&resource=%FF%FE"),
                        kFormType);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Body(result)["error_codes"], json::array({500011}));

  result = NewClient()->Post(kV2Path, "grant_type=client_credentials&scope=%zz", kFormType);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Body(result).value("error", ""), "invalid_request");
}

TEST_F(DevIdpTest, ErrorEchoesClientRequestIdAsCorrelationId) {
  const std::string request_id = "0f0f0f0f-1234-4abc-8def-0123456789ab";
  const json body =
      Body(PostForm(kV2Path, V2Form(kDefenderScope, "wrong"), {{"client-request-id", request_id}}));
  EXPECT_EQ(body.value("correlation_id", ""), request_id);
}

// ---------------------------------------------------------------------------------------------
// Discovery and keys.

TEST_F(DevIdpTest, DiscoveryV1HasEntraIssuerAndLocalEndpoints) {
  const std::string base = server_->listening_url();
  for (const std::string& tenant :
       {std::string(kDefaultTenantId), std::string(kDefaultTenantDomain)}) {
    SCOPED_TRACE(tenant);
    httplib::Result result = Get(absl::StrCat("/", tenant, "/.well-known/openid-configuration"));
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
    const json doc = Body(result);
    EXPECT_EQ(doc.value("issuer", ""),
              absl::StrCat("https://sts.windows.net/", kDefaultTenantId, "/"));
    EXPECT_EQ(doc.value("jwks_uri", ""),
              absl::StrCat(base, "/", kDefaultTenantId, "/discovery/keys"));
    EXPECT_EQ(doc.value("token_endpoint", ""),
              absl::StrCat(base, "/", kDefaultTenantId, "/oauth2/token"));
    EXPECT_EQ(doc.value("authorization_endpoint", ""),
              absl::StrCat(base, "/", kDefaultTenantId, "/oauth2/authorize"));
    EXPECT_EQ(doc["id_token_signing_alg_values_supported"], json::array({"RS256"}));
    EXPECT_EQ(doc.value("tenant_region_scope", ""), "NA");
  }
  const json common = Body(Get("/common/.well-known/openid-configuration"));
  EXPECT_EQ(common.value("issuer", ""), "https://sts.windows.net/{tenantid}/");
  EXPECT_EQ(common.value("jwks_uri", ""), absl::StrCat(base, "/common/discovery/keys"));
}

TEST_F(DevIdpTest, DiscoveryV2HasEntraIssuerAndLocalEndpoints) {
  const std::string base = server_->listening_url();
  const json doc =
      Body(Get(absl::StrCat("/", kDefaultTenantDomain, "/v2.0/.well-known/openid-configuration")));
  EXPECT_EQ(doc.value("issuer", ""),
            absl::StrCat("https://login.microsoftonline.com/", kDefaultTenantId, "/v2.0"));
  EXPECT_EQ(doc.value("jwks_uri", ""),
            absl::StrCat(base, "/", kDefaultTenantId, "/discovery/v2.0/keys"));
  EXPECT_EQ(doc.value("token_endpoint", ""),
            absl::StrCat(base, "/", kDefaultTenantId, "/oauth2/v2.0/token"));
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], json::array({"RS256"}));

  for (const char* alias : {"common", "organizations"}) {
    SCOPED_TRACE(alias);
    const json multi =
        Body(Get(absl::StrCat("/", alias, "/v2.0/.well-known/openid-configuration")));
    EXPECT_EQ(multi.value("issuer", ""), "https://login.microsoftonline.com/{tenantid}/v2.0");
    EXPECT_EQ(multi.value("jwks_uri", ""), absl::StrCat(base, "/", alias, "/discovery/v2.0/keys"));
    EXPECT_TRUE(multi["tenant_region_scope"].is_null());
  }
}

TEST_F(DevIdpTest, DiscoveryForUnknownTenantIsInvalidTenant) {
  httplib::Result result = Get("/nowhere.example.com/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Body(result).value("error", ""), "invalid_tenant");
  EXPECT_EQ(Body(result)["error_codes"], json::array({90002}));
}

TEST_F(DevIdpTest, PublicUrlIsAdvertisedInDiscovery) {
  IdpServerOptions options;
  options.public_url = "https://idp.test.example/";
  StartServer(IdpConfig::Default(), std::move(options));
  const json doc = Body(Get("/common/v2.0/.well-known/openid-configuration"));
  EXPECT_EQ(doc.value("jwks_uri", ""), "https://idp.test.example/common/discovery/v2.0/keys");
}

TEST_F(DevIdpTest, KeysDocumentsHaveEntraShape) {
  const json v1 = Keys(absl::StrCat("/", kDefaultTenantId, "/discovery/keys"));
  ASSERT_EQ(v1["keys"].size(), 1u);
  const json& key = v1["keys"][0];
  EXPECT_EQ(key.value("kty", ""), "RSA");
  EXPECT_EQ(key.value("use", ""), "sig");
  EXPECT_EQ(key.value("e", ""), "AQAB");
  EXPECT_EQ(key.value("x5t", ""), key.value("kid", ""));
  EXPECT_FALSE(key.contains("issuer"));
  // n is a 2048-bit modulus; x5c[0] is a DER certificate whose SHA-1 thumbprint is x5t.
  EXPECT_EQ(Base64UrlDecode(key.value("n", "")).value_or("").size(), 256u);
  ASSERT_EQ(key["x5c"].size(), 1u);
  const std::string der = Base64Decode(key["x5c"][0].get<std::string>()).value_or("");
  const auto* der_data = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &der_data, static_cast<long>(der.size())));
  EXPECT_NE(cert, nullptr);
  unsigned char sha1[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(der.data()), der.size(), sha1);
  EXPECT_EQ(Base64UrlEncode(std::string(reinterpret_cast<char*>(sha1), sizeof(sha1))),
            key.value("x5t", ""));

  const json v2 = Keys(absl::StrCat("/", kDefaultTenantDomain, "/discovery/v2.0/keys"));
  ASSERT_EQ(v2["keys"].size(), 1u);
  EXPECT_EQ(v2["keys"][0].value("issuer", ""), "https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ(v2["keys"][0].value("kid", ""), key.value("kid", ""));
}

// ---------------------------------------------------------------------------------------------
// Tokens: signature and claims.

TEST_F(DevIdpTest, TokenSignatureVerifiesAgainstJwks) {
  for (const std::string& scope :
       {std::string(kDefenderScope), std::string("api://tokend-test/.default")}) {
    SCOPED_TRACE(scope);
    const std::string token = V2Token(scope);
    const std::string kid = JwtPart(token, 0).value("kid", "");
    const json jwk = FindKey(Keys("/common/discovery/v2.0/keys"), kid);
    ASSERT_FALSE(jwk.is_null()) << "kid " << kid << " not published";
    EXPECT_TRUE(VerifiesWith(token, jwk));

    // A changed payload no longer verifies.
    std::vector<std::string> parts = absl::StrSplit(token, '.');
    json claims = JwtPart(token, 1);
    claims["roles"] = json::array({"Machine.Isolate"});
    const std::string forged =
        absl::StrCat(parts[0], ".", Base64UrlEncode(claims.dump()), ".", parts[2]);
    EXPECT_FALSE(VerifiesWith(forged, jwk));
  }
}

TEST_F(DevIdpTest, DefenderTokenHasV1ClaimsEvenFromV2Endpoint) {
  const std::string token = V2Token();
  const json header = JwtPart(token, 0);
  EXPECT_EQ(header.value("typ", ""), "JWT");
  EXPECT_EQ(header.value("alg", ""), "RS256");
  EXPECT_EQ(header.value("x5t", ""), header.value("kid", ""));

  const json claims = JwtPart(token, 1);
  const std::string issuer = absl::StrCat("https://sts.windows.net/", kDefaultTenantId, "/");
  EXPECT_EQ(claims.value("aud", ""), kDefenderResource);
  EXPECT_EQ(claims.value("iss", ""), issuer);
  EXPECT_EQ(claims.value("idp", ""), issuer);
  EXPECT_EQ(claims.value("appid", ""), kDefaultClientId);
  EXPECT_EQ(claims.value("appidacr", ""), "1");
  EXPECT_EQ(claims.value("idtyp", ""), "app");
  EXPECT_EQ(claims.value("tid", ""), kDefaultTenantId);
  EXPECT_EQ(claims.value("ver", ""), "1.0");
  EXPECT_TRUE(IsGuid(claims.value("oid", "")));
  EXPECT_EQ(claims.value("sub", ""), claims.value("oid", ""));
  EXPECT_FALSE(claims.value("uti", "").empty());
  EXPECT_FALSE(claims.contains("azp"));
  EXPECT_EQ(claims["roles"],
            json::array({"AdvancedQuery.Read.All", "Ti.ReadWrite", "Event.Write"}));
  ASSERT_TRUE(claims["iat"].is_number_integer());
  EXPECT_EQ(claims.value("nbf", 0), claims.value("iat", 0));
  EXPECT_EQ(claims.value("exp", 0) - claims.value("iat", 0), 3599);
  EXPECT_NEAR(claims.value("iat", 0), absl::ToUnixSeconds(absl::Now()), 60);
}

TEST_F(DevIdpTest, V1AudienceIsTheResourceUriAsRequested) {
  const std::string alias = "https://api.securitycenter.windows.com/";
  const json claims = JwtPart(Token(kV1Path, V1Form(alias)), 1);
  EXPECT_EQ(claims.value("aud", ""), alias);
  EXPECT_EQ(claims["roles"].size(), 3u);
  const json legacy =
      JwtPart(V2Token("https://securitycenter.onmicrosoft.com/windowsatpservice/.default"), 1);
  EXPECT_EQ(legacy.value("aud", ""), "https://securitycenter.onmicrosoft.com/windowsatpservice");
}

TEST_F(DevIdpTest, V2ResourceGetsV2ClaimsEvenFromV1Endpoint) {
  const std::string token = Token(kV1Path, V1Form(kTestApiResource));
  EXPECT_FALSE(JwtPart(token, 0).contains("x5t"));
  const json claims = JwtPart(token, 1);
  EXPECT_EQ(claims.value("aud", ""), kTestApiAppId);
  EXPECT_EQ(claims.value("iss", ""),
            absl::StrCat("https://login.microsoftonline.com/", kDefaultTenantId, "/v2.0"));
  EXPECT_EQ(claims.value("azp", ""), kDefaultClientId);
  EXPECT_EQ(claims.value("azpacr", ""), "1");
  EXPECT_EQ(claims.value("ver", ""), "2.0");
  EXPECT_EQ(claims.value("idtyp", ""), "app");
  EXPECT_EQ(claims.value("sub", ""), claims.value("oid", ""));
  EXPECT_FALSE(claims.contains("appid"));
  EXPECT_EQ(claims["roles"], json::array({"Test.Read"}));
}

TEST_F(DevIdpTest, RolesClaimIsOmittedWhenNoneGranted) {
  const json claims = JwtPart(V2Token("https://graph.microsoft.com/.default"), 1);
  EXPECT_EQ(claims.value("aud", ""), kGraphResource);
  EXPECT_FALSE(claims.contains("roles"));
}

TEST_F(DevIdpTest, TidIsTheTenantGuidWhenRequestedByDomain) {
  const json claims =
      JwtPart(Token(absl::StrCat("/", kDefaultTenantDomain, "/oauth2/v2.0/token"), V2Form()), 1);
  EXPECT_EQ(claims.value("tid", ""), kDefaultTenantId);
  EXPECT_EQ(claims.value("iss", ""),
            absl::StrCat("https://sts.windows.net/", kDefaultTenantId, "/"));
}

TEST_F(DevIdpTest, ObjectIdIsStableAndUtiUnique) {
  const json first = JwtPart(V2Token(), 1);
  const json second = JwtPart(V2Token(), 1);
  EXPECT_EQ(first.value("oid", ""), second.value("oid", ""));
  EXPECT_NE(first.value("uti", ""), second.value("uti", ""));
}

// ---------------------------------------------------------------------------------------------
// Fault injection.

TEST_F(DevIdpTest, ThrottlingFaultAnswers429WithRetryAfterOnce) {
  AddFault({{"endpoint", "token"}, {"kind", "status"}, {"status", 429}, {"retry_after", 7}});
  httplib::Result throttled = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->status, 429);
  EXPECT_EQ(throttled->get_header_value("Retry-After"), "7");
  EXPECT_EQ(Body(throttled).value("error", ""), "temporarily_unavailable");

  httplib::Result next = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);  // count defaults to 1.
}

TEST_F(DevIdpTest, CountLimitedServerErrorFaultExpires) {
  AddFault({{"endpoint", "token"}, {"kind", "status"}, {"status", 500}, {"count", 2}});
  for (int i = 0; i < 2; ++i) {
    httplib::Result result = PostForm(kV1Path, V1Form());
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 500);
    EXPECT_FALSE(result->has_header("Retry-After"));
  }
  httplib::Result result = PostForm(kV1Path, V1Form());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(Body(Get("/_devidp/faults"))["faults"].size(), 0u);
}

TEST_F(DevIdpTest, UntilClearedFaultLastsUntilDeleted) {
  AddFault({{"endpoint", "any"}, {"kind", "status"}, {"status", 503}, {"count", -1}});
  for (int i = 0; i < 3; ++i) {
    httplib::Result result = PostForm(kV2Path, V2Form());
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 503);
  }
  httplib::Result discovery = Get("/common/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(discovery);
  EXPECT_EQ(discovery->status, 503);
  ASSERT_EQ(NewClient()->Delete("/_devidp/faults")->status, 200);
  EXPECT_EQ(PostForm(kV2Path, V2Form())->status, 200);
}

TEST_F(DevIdpTest, MalformedJsonFaultSendsUnparsableBody) {
  AddFault({{"endpoint", "keys"}, {"kind", "malformed_json"}});
  httplib::Result result = Get("/common/discovery/keys");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_TRUE(Body(result).is_discarded());
  EXPECT_FALSE(Body(Get("/common/discovery/keys")).is_discarded());

  AddFault({{"endpoint", "token"}, {"kind", "malformed_json"}});
  httplib::Result token = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(token);
  EXPECT_TRUE(Body(token).is_discarded());
}

TEST_F(DevIdpTest, LatencyFaultDelaysTheAnswer) {
  AddFault({{"endpoint", "discovery"}, {"kind", "latency"}, {"latency_ms", 300}});
  const absl::Time start = absl::Now();
  httplib::Result result = Get("/common/.well-known/openid-configuration");
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_GE(elapsed, absl::Milliseconds(300));
}

TEST_F(DevIdpTest, LatencyCombinesWithStatusFault) {
  AddFault({{"endpoint", "token"}, {"kind", "latency"}, {"latency_ms", 200}});
  AddFault({{"endpoint", "token"}, {"kind", "status"}, {"status", 503}, {"retry_after", 1}});
  const absl::Time start = absl::Now();
  httplib::Result result = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(result);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value("Retry-After"), "1");
}

TEST_F(DevIdpTest, DropConnectionFaultGivesClientAnError) {
  AddFault({{"endpoint", "token"}, {"kind", "drop_connection"}});
  httplib::Result dropped = PostForm(kV2Path, V2Form());
  EXPECT_FALSE(dropped);
  EXPECT_NE(dropped.error(), httplib::Error::Success);
  httplib::Result next = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(DevIdpTest, FaultForAnotherEndpointDoesNotApply) {
  AddFault({{"endpoint", "keys"}, {"kind", "status"}, {"status", 500}});
  EXPECT_EQ(PostForm(kV2Path, V2Form())->status, 200);
  EXPECT_EQ(Get("/common/.well-known/openid-configuration")->status, 200);
  EXPECT_EQ(Get("/common/discovery/keys")->status, 500);
}

TEST_F(DevIdpTest, InvalidFaultIsRejected) {
  for (const json& fault :
       {json{{"kind", "explode"}}, json{{"kind", "status"}, {"status", 42}},
        json{{"kind", "latency"}}, json{{"endpoint", "nowhere"}, {"kind", "drop_connection"}},
        json{{"kind", "status"}, {"status", 500}, {"count", 0}}}) {
    SCOPED_TRACE(fault.dump());
    httplib::Result result = PostJson("/_devidp/faults", fault);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400);
  }
}

// ---------------------------------------------------------------------------------------------
// Admin API: keys, counters, secrets, roles.

TEST_F(DevIdpTest, KeyRotationChangesKidAndKeepsOldKeyPublished) {
  const std::string old_token = V2Token();
  const std::string old_kid = JwtPart(old_token, 0).value("kid", "");

  httplib::Result rotated = PostJson("/_devidp/rotate-keys", json::object());
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  const std::string new_kid = Body(rotated).value("kid", "");
  EXPECT_NE(new_kid, old_kid);

  const std::string new_token = V2Token();
  EXPECT_EQ(JwtPart(new_token, 0).value("kid", ""), new_kid);
  const json keys = Keys();
  EXPECT_THAT(Kids(keys), ElementsAre(new_kid, old_kid));
  EXPECT_TRUE(VerifiesWith(old_token, FindKey(keys, old_kid)));
  EXPECT_TRUE(VerifiesWith(new_token, FindKey(keys, new_kid)));
  EXPECT_FALSE(VerifiesWith(new_token, FindKey(keys, old_kid)));

  rotated = PostJson("/_devidp/rotate-keys", {{"retire_old", true}});
  ASSERT_TRUE(rotated);
  const std::string newest_kid = Body(rotated).value("kid", "");
  EXPECT_THAT(Kids(Keys("/common/discovery/v2.0/keys")), ElementsAre(newest_kid));
}

TEST_F(DevIdpTest, CountersCountRequestsAndReset) {
  V2Token();
  Token(kV1Path, V1Form());
  PostForm(kV2Path, V2Form(kDefenderScope, "wrong"));
  PostForm(kV2Path, {{"grant_type", "client_credentials"}});
  Keys();
  Get("/common/.well-known/openid-configuration");
  Get("/common/v2.0/.well-known/openid-configuration");

  json counters = Body(Get("/_devidp/counters"));
  EXPECT_EQ(counters.value("token_requests", -1), 4);
  EXPECT_EQ(counters.value("token_success", -1), 2);
  EXPECT_EQ(counters.value("token_errors", -1), 2);
  EXPECT_EQ(counters["token_requests_by_client"].value(kDefaultClientId, -1), 3);
  EXPECT_EQ(counters.value("keys_requests", -1), 1);
  EXPECT_EQ(counters.value("discovery_requests", -1), 2);

  ASSERT_EQ(PostJson("/_devidp/counters/reset", json::object())->status, 200);
  counters = Body(Get("/_devidp/counters"));
  EXPECT_EQ(counters.value("token_requests", -1), 0);
  EXPECT_EQ(counters.value("keys_requests", -1), 0);
  EXPECT_TRUE(counters["token_requests_by_client"].empty());
}

TEST_F(DevIdpTest, FaultedTokenRequestsCountAsErrors) {
  AddFault({{"endpoint", "token"}, {"kind", "status"}, {"status", 429}});
  PostForm(kV2Path, V2Form());
  const json counters = Body(Get("/_devidp/counters"));
  EXPECT_EQ(counters.value("token_requests", -1), 1);
  EXPECT_EQ(counters.value("token_errors", -1), 1);
}

TEST_F(DevIdpTest, SecretRotationThroughAdminApi) {
  const std::string new_secret = "rotated/secret 2";
  const std::string secrets_path = absl::StrCat("/_devidp/apps/", kDefaultClientId, "/secrets");
  httplib::Result added = PostJson(secrets_path, {{"secret", new_secret}});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200);
  EXPECT_EQ(PostForm(kV2Path, V2Form(kDefenderScope, new_secret))->status, 200);
  EXPECT_EQ(PostForm(kV2Path, V2Form())->status, 200);  // Both valid during the overlap.

  httplib::Result removed = NewClient()->Delete(
      absl::StrCat(secrets_path, "/", FormEncode(kDefaultClientSecret)).c_str());
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 200);
  httplib::Result old = PostForm(kV2Path, V2Form());
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, 401);
  EXPECT_EQ(Body(old)["error_codes"], json::array({7000215}));

  // The new secret's path segment needs escaping ('/' and ' ').
  removed = NewClient()->Delete(absl::StrCat(secrets_path, "/rotated%2Fsecret%202").c_str());
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 200);
  EXPECT_EQ(PostForm(kV2Path, V2Form(kDefenderScope, new_secret))->status, 401);

  // An expired secret added through the API answers 7000222.
  ASSERT_EQ(PostJson(secrets_path, {{"secret", "old-one"}, {"expired", true}})->status, 200);
  EXPECT_EQ(Body(PostForm(kV2Path, V2Form(kDefenderScope, "old-one")))["error_codes"],
            json::array({7000222}));
}

TEST_F(DevIdpTest, AdminApiRejectsUnknownAppAndSecret) {
  httplib::Result result =
      PostJson("/_devidp/apps/cccccccc-cccc-cccc-cccc-cccccccccccc/secrets", {{"secret", "x"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  result = NewClient()->Delete(
      absl::StrCat("/_devidp/apps/", kDefaultClientId, "/secrets/not-a-secret").c_str());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_FALSE(absl::StrContains(result->body, "not-a-secret"));
}

TEST_F(DevIdpTest, SetRolesChangesTheRolesClaim) {
  const std::string roles_path = absl::StrCat("/_devidp/apps/", kDefaultClientId, "/roles");
  httplib::Result result =
      PostJson(roles_path, {{"tenant", kDefaultTenantDomain},
                            {"resource", "https://api.securitycenter.windows.com"},
                            {"roles", {"Machine.Read.All"}}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(JwtPart(V2Token(), 1)["roles"], json::array({"Machine.Read.All"}));

  ASSERT_EQ(PostJson(roles_path, {{"tenant", kDefaultTenantId},
                                  {"resource", kDefenderAppId},
                                  {"roles", json::array()}})
                ->status,
            200);
  EXPECT_FALSE(JwtPart(V2Token(), 1).contains("roles"));
}

TEST_F(DevIdpTest, ConsentingInAnotherTenantLetsTheAppIn) {
  const std::string path = absl::StrCat("/", kOtherTenantDomain, "/oauth2/v2.0/token");
  EXPECT_EQ(PostForm(path, V2Form())->status, 400);
  ASSERT_EQ(PostJson(absl::StrCat("/_devidp/apps/", kDefaultClientId, "/tenants"),
                     {{"tenant", kOtherTenantId}})
                ->status,
            200);
  const json claims = JwtPart(Token(path, V2Form()), 1);
  EXPECT_EQ(claims.value("tid", ""), kOtherTenantId);
  EXPECT_FALSE(claims.contains("roles"));
}

// ---------------------------------------------------------------------------------------------
// Connections.

TEST_F(DevIdpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::unique_ptr<httplib::Client> client = NewClient();
  client->set_keep_alive(true);
  std::atomic<int> connections{0};
  client->set_socket_options([&connections](socket_t) { ++connections; });
  for (int i = 0; i < 10; ++i) {
    httplib::Result result = client->Post(kV2Path, EncodeForm(V2Form()), kFormType);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
  EXPECT_EQ(connections.load(), 1);
}

TEST_F(DevIdpTest, ConcurrentClientsAreServed) {
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([this, &successes] {
      std::unique_ptr<httplib::Client> client = NewClient();
      client->set_keep_alive(true);
      for (int i = 0; i < 5; ++i) {
        httplib::Result result = client->Post(kV2Path, EncodeForm(V2Form()), kFormType);
        if (result && result->status == 200) ++successes;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 30);
}

TEST(IdpServerStartTest, RefusesNonLoopbackHost) {
  IdpServerOptions options;
  options.host = "0.0.0.0";
  EXPECT_THAT(IdpServer::Start(IdpConfig::Default(), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-loopback")));
}

// ---------------------------------------------------------------------------------------------
// Configuration and helpers.

TEST(IdpConfigTest, ExampleConfigLoadsAndNormalises) {
  absl::StatusOr<IdpConfig> config = IdpConfig::FromFile(TOKEND_DEVIDP_EXAMPLE_CONFIG);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->refresh_in_seconds.value_or(0), 1800);
  ASSERT_EQ(config->apps.size(), 1u);
  const AppConfig& app = config->apps[0];
  ASSERT_EQ(app.tenants.count(kDefaultTenantId), 1u);  // Domain key became the GUID.
  const auto& grants = app.tenants.at(kDefaultTenantId);
  ASSERT_EQ(grants.count(kDefenderAppId), 1u);  // URI key became the app id.
  EXPECT_EQ(grants.at(kDefenderAppId).size(), 3u);
  EXPECT_TRUE(app.secrets[1].expired);
  EXPECT_EQ(app.certificates.size(), 1u);
  ASSERT_EQ(app.federated_credentials.size(), 1u);
  EXPECT_EQ(app.federated_credentials[0].audience, kTokenExchangeAudience);
  ASSERT_EQ(config->federated_issuers.size(), 1u);
  EXPECT_EQ(config->federated_issuers[0].issuer, app.federated_credentials[0].issuer);
}

TEST(IdpConfigTest, RejectsBadCertificatesFederatedCredentialsAndIssuers) {
  EXPECT_THAT(IdpConfig::FromJson(R"({"apps":[{"client_id":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                                     "certificates":["not a certificate"]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM certificate")));
  EXPECT_THAT(IdpConfig::FromJson(R"({"apps":[{"client_id":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                                     "federated_credentials":[{"issuer":"https://i"}]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing \"subject\"")));
  EXPECT_THAT(IdpConfig::FromJson(R"({"federated_issuers":[{"issuer":"https://i",
                                     "jwks":{"keys":[]}}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no RSA key")));
  EXPECT_THAT(IdpConfig::FromJson(R"({"federated_issuers":[{"issuer":"https://i"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JWKS object")));
}

TEST(IdpConfigTest, RejectsDanglingReferencesAndUnknownFields) {
  EXPECT_THAT(IdpConfig::FromJson(R"({"apps":[{"client_id":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
                                     "tenants":{"nowhere.example":{}}}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown tenant")));
  EXPECT_THAT(IdpConfig::FromJson(R"({"tenant":[]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown field")));
  EXPECT_THAT(IdpConfig::FromJson(R"({"resources":[{"app_id":"x","uris":["api://a"]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a GUID")));
  EXPECT_THAT(IdpConfig::FromJson("{"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON")));
}

TEST(FormEncodingTest, RoundTripsAndDecodesPlusAsSpace) {
  const FormFields fields = {{"a b", "c+d/e%f"}, {"empty", ""}};
  EXPECT_EQ(ParseForm(EncodeForm(fields)).value_or(FormFields()), fields);
  EXPECT_EQ(FormDecode("x+y%2Bz").value_or(""), "x y+z");
  EXPECT_THAT(FormDecode("bad%2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("percent")));
  EXPECT_THAT(FormDecode("bad%zz"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("percent")));
}

TEST(GuidTest, DeterministicGuidIsStableAndWellFormed) {
  EXPECT_EQ(DeterministicGuid("a"), DeterministicGuid("a"));
  EXPECT_NE(DeterministicGuid("a"), DeterministicGuid("b"));
  EXPECT_TRUE(IsGuid(DeterministicGuid("a")));
  EXPECT_TRUE(IsGuid(RandomGuid()));
  EXPECT_FALSE(IsGuid("11111111-1111-1111-1111-11111111111"));
}

// ---------------------------------------------------------------------------------------------
// The tokend-devidp binary.

// A child process running tokend-devidp with its stdout on a pipe.
class DevIdpProcess {
 public:
  explicit DevIdpProcess(std::vector<std::string> args) {
    args.insert(args.begin(), TOKEND_DEVIDP_BINARY);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stdout_fd_ = fds[0];
  }

  ~DevIdpProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  bool started() const { return pid_ > 0; }

  // Returns the first stdout line, waiting at most `timeout` ("" on timeout or EOF).
  std::string ReadLine(absl::Duration timeout) {
    std::string line;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd fd = {stdout_fd_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char c;
      if (read(stdout_fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return "";
  }

  // Sends `signal_number` and returns the exit code, or -1 if it did not exit normally within
  // `timeout`.
  int SignalAndWait(int signal_number, absl::Duration timeout) {
    if (signal_number != 0) kill(pid_, signal_number);
    return Wait(timeout);
  }

  int Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(20));  // Bounded polling for the child's exit.
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

TEST(DevIdpBinaryTest, PrintsListeningLineServesAndExitsCleanlyOnSigterm) {
  const std::string port_file = absl::StrCat(::testing::TempDir(), "/devidp-port-", getpid());
  DevIdpProcess process(
      {"--port=0", "--port-file", port_file, "--token-lifetime", "600", "--refresh-in=300"});
  ASSERT_TRUE(process.started());
  const json line = json::parse(process.ReadLine(absl::Seconds(20)), nullptr, false);
  ASSERT_TRUE(line.is_object());
  const std::string url = line.value("listening", "");
  ASSERT_THAT(url, StartsWith("http://127.0.0.1:"));
  std::ifstream port_in(port_file);
  std::string port;
  std::getline(port_in, port);
  EXPECT_EQ(url, absl::StrCat("http://127.0.0.1:", port));

  httplib::Client client(url);
  client.set_read_timeout(10);
  httplib::Result result = client.Post(kV2Path,
                                       EncodeForm({{"grant_type", "client_credentials"},
                                                   {"client_id", kDefaultClientId},
                                                   {"client_secret", kDefaultClientSecret},
                                                   {"scope", kDefenderScope}}),
                                       kFormType);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const json body = Body(result);
  EXPECT_EQ(body.value("expires_in", 0), 600);
  EXPECT_EQ(body.value("refresh_in", 0), 300);

  EXPECT_EQ(process.SignalAndWait(SIGTERM, absl::Seconds(20)), 0);
  std::remove(port_file.c_str());
}

TEST(DevIdpBinaryTest, ExitsOnSigint) {
  DevIdpProcess process({});
  ASSERT_TRUE(process.started());
  ASSERT_FALSE(process.ReadLine(absl::Seconds(20)).empty());
  EXPECT_EQ(process.SignalAndWait(SIGINT, absl::Seconds(20)), 0);
}

TEST(DevIdpBinaryTest, RefusesNonLoopbackHostAndBadFlags) {
  DevIdpProcess non_loopback({"--host", "0.0.0.0"});
  ASSERT_TRUE(non_loopback.started());
  EXPECT_EQ(non_loopback.Wait(absl::Seconds(20)), 1);
  DevIdpProcess bad_flag({"--no-such-flag"});
  ASSERT_TRUE(bad_flag.started());
  EXPECT_EQ(bad_flag.Wait(absl::Seconds(20)), 2);
  DevIdpProcess help({"--help"});
  ASSERT_TRUE(help.started());
  EXPECT_THAT(help.ReadLine(absl::Seconds(20)), HasSubstr("Usage: tokend-devidp"));
  EXPECT_EQ(help.Wait(absl::Seconds(20)), 0);
}

}  // namespace
}  // namespace devidp
}  // namespace tokend
