#include "service/core/credential_store.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::StatusIs;
using ::testing::UnorderedElementsAre;

std::shared_ptr<const Credential> MakeCredential(const std::string& name,
                                                 const std::string& version) {
  auto credential = std::make_shared<Credential>();
  credential->name = name;
  credential->tenant_id = "contoso.onmicrosoft.com";
  credential->client_id = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
  credential->client_secret = SecretString("s-" + version);
  credential->version = version;
  return credential;
}

class CredentialStoreTest : public ::testing::Test {
 protected:
  void Apply(std::initializer_list<std::pair<std::string, std::string>> good,
             std::initializer_list<std::string> broken = {}) {
    CredentialSnapshot snapshot;
    for (const auto& [name, version] : good) {
      snapshot.credentials[name] = MakeCredential(name, version);
    }
    for (const std::string& name : broken) {
      snapshot.failures[name] = absl::FailedPreconditionError("file client-id: must be a GUID");
    }
    changed_ = store_.Apply(snapshot);
  }

  std::string VersionOf(const std::string& name) {
    absl::StatusOr<std::shared_ptr<const Credential>> found = store_.Find(name);
    return found.ok() ? (*found)->version : "<" + found.status().ToString() + ">";
  }

  CredentialStore store_;
  std::vector<std::string> changed_;
};

TEST_F(CredentialStoreTest, EmptyNameSelectsTheOnlyCredential) {
  Apply({{"mde", "v1"}});
  EXPECT_EQ(VersionOf(""), "v1");
  EXPECT_EQ(VersionOf("mde"), "v1");
}

TEST_F(CredentialStoreTest, EmptyNameSelectsDefaultAmongSeveral) {
  Apply({{"mde", "v1"}, {"default", "v2"}});
  EXPECT_EQ(VersionOf(""), "v2");
}

TEST_F(CredentialStoreTest, EmptyNameIsAmbiguousAmongSeveral) {
  Apply({{"a", "v1"}, {"b", "v1"}});
  EXPECT_THAT(store_.Find(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credential: required")));
}

TEST_F(CredentialStoreTest, UnknownNameIsNotFoundAndListsTheKnownOnes) {
  Apply({{"a", "v1"}});
  EXPECT_THAT(store_.Find("zzz"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("(known: a)")));
}

TEST_F(CredentialStoreTest, ImplausibleNameIsRejectedWithoutEcho) {
  Apply({{"a", "v1"}});
  absl::StatusOr<std::shared_ptr<const Credential>> found = store_.Find("Secret Value!");
  EXPECT_THAT(found, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credential:")));
  EXPECT_THAT(std::string(found.status().message()), ::testing::Not(HasSubstr("Secret")));
}

TEST_F(CredentialStoreTest, BrokenCredentialThatNeverLoadedIsFailedPrecondition) {
  Apply({{"good", "v1"}}, {"bad"});
  EXPECT_THAT(store_.Find("bad"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("must be a GUID")));
  EXPECT_EQ(VersionOf("good"), "v1");
  EXPECT_TRUE(store_.AnyUsable());
}

TEST_F(CredentialStoreTest, BrokenUpdateKeepsTheLastGoodVersion) {
  Apply({{"mde", "v1"}});
  Apply({}, {"mde"});
  EXPECT_EQ(VersionOf("mde"), "v1");
  EXPECT_THAT(changed_, IsEmpty());
  std::vector<CredentialState> states = store_.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_TRUE(states[0].usable);
  EXPECT_EQ(states[0].version, "v1");
  EXPECT_THAT(states[0].last_error,
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("GUID")));
  // A good update afterwards replaces it and clears the error.
  Apply({{"mde", "v2"}});
  EXPECT_EQ(VersionOf("mde"), "v2");
  EXPECT_THAT(changed_, ElementsAre("mde"));
  EXPECT_THAT(store_.States()[0].last_error, IsOk());
}

TEST_F(CredentialStoreTest, ReportsAddedChangedAndRemoved) {
  Apply({{"a", "v1"}, {"b", "v1"}});
  EXPECT_THAT(changed_, UnorderedElementsAre("a", "b"));
  Apply({{"a", "v1"}, {"b", "v2"}});
  EXPECT_THAT(changed_, ElementsAre("b"));
  Apply({{"b", "v2"}});
  EXPECT_THAT(changed_, ElementsAre("a"));
  EXPECT_THAT(store_.Find("a"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("a")));
}

TEST_F(CredentialStoreTest, StatesCarryTheCertificateExpiryOfTheVersionInUse) {
  const absl::Time expiry = absl::FromUnixSeconds(2082758400);
  auto certificate = std::make_shared<Credential>(*MakeCredential("cert", "1"));
  certificate->kind = CredentialKind::kCertificate;
  certificate->certificate_expires_at = expiry;
  CredentialSnapshot snapshot;
  snapshot.credentials["cert"] = certificate;
  snapshot.credentials["mde"] = MakeCredential("mde", "1");
  store_.Apply(snapshot);
  std::vector<CredentialState> states = store_.States();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].certificate_expires_at, expiry);
  EXPECT_EQ(states[1].certificate_expires_at, std::nullopt);
  // A broken update keeps the last good certificate, and so its expiry.
  snapshot.credentials.erase("cert");
  snapshot.failures["cert"] = absl::FailedPreconditionError("file client-certificate: is empty");
  store_.Apply(snapshot);
  EXPECT_EQ(store_.States()[0].certificate_expires_at, expiry);
}

TEST_F(CredentialStoreTest, NoCredentialAtAll) {
  Apply({});
  EXPECT_FALSE(store_.AnyUsable());
  EXPECT_THAT(store_.Find(""), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("no credential is configured")));
}

TEST_F(CredentialStoreTest, LookupsSurviveReplacement) {
  Apply({{"mde", "v1"}});
  std::shared_ptr<const Credential> held = *store_.Find("mde");
  Apply({{"mde", "v2"}});
  EXPECT_EQ(held->version, "v1");  // Still valid for whoever holds it.
  EXPECT_EQ(held->client_secret.Reveal(), "s-v1");
}

}  // namespace
}  // namespace tokend
