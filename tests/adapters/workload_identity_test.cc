#include "service/adapters/workload_identity.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::StartsWith;
using testing::StatusIs;

using Variables = std::map<std::string, std::string>;

constexpr char kClientId[] = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr char kTenant[] = "8f2c1e4a-1b2c-4d3e-9f00-123456789abc";
constexpr char kTokenFile[] = "/var/run/secrets/azure/tokens/azure-identity-token";

EnvLookup Env(Variables variables) {
  auto shared = std::make_shared<const Variables>(std::move(variables));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

// What the azure-workload-identity webhook injects.
Variables Webhook() {
  return {{"AZURE_CLIENT_ID", kClientId},
          {"AZURE_TENANT_ID", kTenant},
          {"AZURE_FEDERATED_TOKEN_FILE", kTokenFile},
          {"AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"}};
}

TEST(WorkloadIdentityTest, NotInUseWithoutTheTokenFileVariable) {
  for (const Variables& variables :
       {Variables{}, Variables{{"AZURE_CLIENT_ID", kClientId}, {"AZURE_TENANT_ID", kTenant}},
        Variables{{"AZURE_FEDERATED_TOKEN_FILE", ""}}}) {
    absl::StatusOr<std::optional<Credential>> credential =
        WorkloadIdentityFromEnvironment(Env(variables));
    ASSERT_THAT(credential, IsOk());
    EXPECT_FALSE(credential->has_value());
  }
  absl::StatusOr<std::optional<Credential>> none = WorkloadIdentityFromEnvironment(nullptr);
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->has_value());
}

TEST(WorkloadIdentityTest, WebhookVariablesMakeTheWorkloadIdentityCredential) {
  absl::StatusOr<std::optional<Credential>> credential =
      WorkloadIdentityFromEnvironment(Env(Webhook()));
  ASSERT_THAT(credential, IsOk());
  ASSERT_TRUE(credential->has_value());
  const Credential& c = **credential;
  EXPECT_EQ(c.name, "workload-identity");
  EXPECT_EQ(c.kind, CredentialKind::kWorkloadIdentity);
  EXPECT_EQ(c.client_id, kClientId);
  EXPECT_EQ(c.tenant_id, kTenant);
  EXPECT_EQ(c.authority_host, "https://login.microsoftonline.com");  // No trailing slash.
  EXPECT_TRUE(c.client_secret.empty());
  ASSERT_NE(c.assertion, nullptr);
  EXPECT_EQ(c.assertion->Describe(), absl::StrCat("federated token file ", kTokenFile));
  EXPECT_THAT(c.version, StartsWith("env-"));
}

TEST(WorkloadIdentityTest, AuthorityHostIsOptionalAndAcceptedWithoutTrailingSlash) {
  Variables variables = Webhook();
  variables.erase("AZURE_AUTHORITY_HOST");
  absl::StatusOr<std::optional<Credential>> without =
      WorkloadIdentityFromEnvironment(Env(variables));
  ASSERT_THAT(without, IsOk());
  EXPECT_EQ((*without)->authority_host, "");  // --cloud's / --authority-host then.
  variables["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.us";
  absl::StatusOr<std::optional<Credential>> gov = WorkloadIdentityFromEnvironment(Env(variables));
  ASSERT_THAT(gov, IsOk());
  EXPECT_EQ((*gov)->authority_host, "https://login.microsoftonline.us");
}

TEST(WorkloadIdentityTest, VersionChangesWithTheVariablesOnly) {
  auto version = [](const Variables& variables) {
    absl::StatusOr<std::optional<Credential>> c = WorkloadIdentityFromEnvironment(Env(variables));
    return c.ok() && c->has_value() ? (*c)->version : std::string("error");
  };
  Variables other_tenant = Webhook();
  other_tenant["AZURE_TENANT_ID"] = "contoso.onmicrosoft.com";
  EXPECT_EQ(version(Webhook()), version(Webhook()));
  EXPECT_NE(version(Webhook()), version(other_tenant));
}

TEST(WorkloadIdentityTest, BadVariablesAreNamed) {
  struct Case {
    const char* variable;
    const char* value;  // nullptr: unset.
    const char* message;
  };
  const Case cases[] = {
      {"AZURE_CLIENT_ID", nullptr, "variable AZURE_CLIENT_ID: is not set"},
      {"AZURE_CLIENT_ID", "my-app", "variable AZURE_CLIENT_ID: must be a GUID"},
      {"AZURE_TENANT_ID", nullptr, "variable AZURE_TENANT_ID: is not set"},
      {"AZURE_TENANT_ID", "contoso", "variable AZURE_TENANT_ID: must be a GUID or a domain name"},
      {"AZURE_FEDERATED_TOKEN_FILE", "tokens/azure-identity-token",
       "variable AZURE_FEDERATED_TOKEN_FILE: must be an absolute path"},
      {"AZURE_AUTHORITY_HOST", "http://login.microsoftonline.com/",
       "variable AZURE_AUTHORITY_HOST: must use https"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.message);
    Variables variables = Webhook();
    if (test.value == nullptr) {
      variables.erase(test.variable);
    } else {
      variables[test.variable] = test.value;
    }
    EXPECT_THAT(
        WorkloadIdentityFromEnvironment(Env(variables)),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 HasSubstr(absl::StrCat("credential \"workload-identity\": ", test.message))));
  }
}

}  // namespace
}  // namespace tokend
