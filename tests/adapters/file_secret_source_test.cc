#include "service/adapters/file_secret_source.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/adapters/workload_identity.h"
#include "service/common/logging.h"
#include "service/core/certificate_assertion.h"
#include "tests/testing/secrets_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certificates.h"

namespace tokend {
namespace {

using testing::DataTarget;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::MakeDataDangling;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::Pair;
using testing::SecretFiles;
using ::testing::SizeIs;
using testing::StatusIs;
using testing::TempDir;
using testing::UpdateSecretVolume;
using testing::WritePlainFiles;
using testing::WriteSecretVolume;

constexpr char kTenant[] = "8f2c1e4a-1b2c-4d3e-9f00-123456789abc";
constexpr char kClientId[] = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr char kSecret[] = "s3cr3t~Value.Zx9_qL";  // Must never appear in a message or log.

// A self-signed certificate and its private key, PEM encoded.
struct Pem {
  std::string certificate;
  std::string private_key;
  std::string encrypted_key;  // private_key encrypted with a passphrase.
};

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

Pem MakePem() {
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> key(EVP_RSA_gen(2048));
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  if (key == nullptr || cert == nullptr) return {};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set_string_X509(X509_getm_notBefore(cert.get()), "20260101000000Z");
  ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()), "20360101000000Z");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tokend-test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return {};
  std::unique_ptr<BIO, BioDeleter> cert_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioDeleter> key_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioDeleter> encrypted_bio(BIO_new(BIO_s_mem()));
  char passphrase[] = "passphrase";
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PrivateKey(encrypted_bio.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                           passphrase);
  return {BioString(cert_bio.get()), BioString(key_bio.get()), BioString(encrypted_bio.get())};
}

// Generated once: RSA key generation takes a moment.
const Pem& TestPem() {
  static const Pem* pem = new Pem(MakePem());
  return *pem;
}
const Pem& OtherPem() {
  static const Pem* pem = new Pem(MakePem());
  return *pem;
}

SecretFiles GoodSecret() {
  return {{"tenant-id", absl::StrCat(kTenant, "\n")},
          {"client-id", absl::StrCat(kClientId, "\n")},
          {"client-secret", absl::StrCat(kSecret, "\n")}};
}

SecretFiles GoodCertificate() {
  return {{"tenant-id", absl::StrCat(kTenant, "\n")},
          {"client-id", absl::StrCat(kClientId, "\n")},
          {"client-certificate", TestPem().certificate + TestPem().private_key}};
}

class FileSecretSourceTest : public ::testing::Test {
 protected:
  std::string Folder(const std::string& name) const { return dir_.path() + "/" + name; }

  // Mounts `files` as DIR/`name` the way the kubelet mounts a Secret.
  void Mount(const std::string& name, const SecretFiles& files) {
    ASSERT_THAT(WriteSecretVolume(Folder(name), files), IsOk());
  }

  absl::StatusOr<Credential> LoadOne(const std::string& name) {
    return FileSecretSource::LoadCredential(name, Folder(name));
  }

  TempDir dir_;
};

TEST_F(FileSecretSourceTest, SecretsDirHelperLaysOutTheVolumeAsTheKubeletDoes) {
  Mount("mde", GoodSecret());
  absl::StatusOr<std::string> target = DataTarget(Folder("mde"));
  ASSERT_THAT(target, IsOk());
  EXPECT_THAT(*target, MatchesRegex(R"(\.\.[0-9]{4}(_[0-9]{2}){5}\.[0-9]{9})"));
  char link[256] = {};
  ASSERT_GT(readlink(Folder("mde/client-id").c_str(), link, sizeof(link) - 1), 0);
  EXPECT_STREQ(link, "..data/client-id");
  struct stat st;
  ASSERT_EQ(lstat(Folder("mde/" + *target + "/client-id").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_NE(lstat(Folder("mde/..data_tmp").c_str(), &st), 0);

  ASSERT_THAT(UpdateSecretVolume(Folder("mde"), GoodSecret()), IsOk());  // Unchanged: no write.
  EXPECT_THAT(DataTarget(Folder("mde")), testing::IsOkAndHolds(*target));
}

TEST_F(FileSecretSourceTest, LoadsSecretCredentialFromDataLayout) {
  Mount("mde", GoodSecret());
  absl::StatusOr<Credential> credential = LoadOne("mde");
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->name, "mde");
  EXPECT_EQ(credential->tenant_id, kTenant);
  EXPECT_EQ(credential->client_id, kClientId);
  EXPECT_EQ(credential->kind, CredentialKind::kClientSecret);
  EXPECT_EQ(credential->client_secret.Reveal(), kSecret);
  EXPECT_TRUE(credential->certificate_pem.empty());
  EXPECT_EQ(credential->authority_host, "");
  EXPECT_THAT(DataTarget(Folder("mde")), testing::IsOkAndHolds(credential->version));
}

TEST_F(FileSecretSourceTest, WarnsWhenASecretFileIsReadableByOtherUsers) {
  Mount("mde", GoodSecret());
  Mount("cert", GoodCertificate());
  absl::StatusOr<std::string> mde = DataTarget(Folder("mde"));
  absl::StatusOr<std::string> cert = DataTarget(Folder("cert"));
  ASSERT_THAT(mde, IsOk());
  ASSERT_THAT(cert, IsOk());
  // The kubelet's default is 0644; the mode applies to the real files behind ..data.
  ASSERT_EQ(chmod(Folder("mde/" + *mde + "/client-secret").c_str(), 0644), 0);
  ASSERT_EQ(chmod(Folder("mde/" + *mde + "/tenant-id").c_str(), 0644), 0);  // Not a secret.
  ASSERT_EQ(chmod(Folder("cert/" + *cert + "/client-certificate").c_str(), 0604), 0);

  absl::StatusOr<Credential> open = LoadOne("mde");
  ASSERT_THAT(open, IsOk());  // A warning, not a refusal.
  EXPECT_THAT(open->warnings,
              ElementsAre("file client-secret is readable by other users (mode 0644); set "
                          "defaultMode: 0400 (or 0440 with the pod's fsGroup) on the Secret "
                          "volume"));
  absl::StatusOr<Credential> open_cert = LoadOne("cert");
  ASSERT_THAT(open_cert, IsOk());
  EXPECT_THAT(open_cert->warnings, ElementsAre(HasSubstr("file client-certificate is readable "
                                                         "by other users (mode 0604)")));

  // What the warning asks for (and group-readable with fsGroup) is quiet.
  ASSERT_EQ(chmod(Folder("mde/" + *mde + "/client-secret").c_str(), 0440), 0);
  ASSERT_EQ(chmod(Folder("cert/" + *cert + "/client-certificate").c_str(), 0400), 0);
  EXPECT_THAT(LoadOne("mde")->warnings, IsEmpty());
  EXPECT_THAT(LoadOne("cert")->warnings, IsEmpty());
}

TEST_F(FileSecretSourceTest, LoadsPlainFilesWithAContentHashAsVersion) {
  ASSERT_THAT(WritePlainFiles(Folder("mde"), GoodSecret()), IsOk());
  absl::StatusOr<Credential> first = LoadOne("mde");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->client_secret.Reveal(), kSecret);
  EXPECT_THAT(first->version, MatchesRegex("[0-9a-f]{16}"));
  absl::StatusOr<Credential> again = LoadOne("mde");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->version, first->version);

  ASSERT_THAT(WritePlainFiles(Folder("mde"), {{"client-secret", "another-secret\n"}}), IsOk());
  absl::StatusOr<Credential> second = LoadOne("mde");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->client_secret.Reveal(), "another-secret");
  EXPECT_NE(second->version, first->version);
}

TEST_F(FileSecretSourceTest, TrimsOneTrailingNewlineOrCrLfOrNone) {
  Mount("lf", {{"tenant-id", "contoso.onmicrosoft.com\n"},
               {"client-id", absl::StrCat(kClientId, "\n")},
               {"client-secret", absl::StrCat(kSecret, "\n")}});
  Mount("crlf", {{"tenant-id", "contoso.onmicrosoft.com\r\n"},
                 {"client-id", absl::StrCat(kClientId, "\r\n")},
                 {"client-secret", absl::StrCat(kSecret, "\r\n")}});
  Mount("none", {{"tenant-id", "contoso.onmicrosoft.com"},
                 {"client-id", kClientId},
                 {"client-secret", kSecret}});
  for (const char* name : {"lf", "crlf", "none"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<Credential> credential = LoadOne(name);
    ASSERT_THAT(credential, IsOk());
    EXPECT_EQ(credential->tenant_id, "contoso.onmicrosoft.com");
    EXPECT_EQ(credential->client_id, kClientId);
    EXPECT_EQ(credential->client_secret.Reveal(), kSecret);
  }
}

TEST_F(FileSecretSourceTest, LoadsCertificateCredentialInEitherOrder) {
  ASSERT_FALSE(TestPem().certificate.empty());
  SecretFiles key_first = GoodCertificate();
  key_first["client-certificate"] = TestPem().private_key + TestPem().certificate;
  Mount("cert", GoodCertificate());
  Mount("key-first", key_first);
  for (const char* name : {"cert", "key-first"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<Credential> credential = LoadOne(name);
    ASSERT_THAT(credential, IsOk());
    EXPECT_EQ(credential->kind, CredentialKind::kCertificate);
    EXPECT_TRUE(credential->client_secret.empty());
    EXPECT_THAT(std::string(credential->certificate_pem.Reveal()),
                HasSubstr("-----BEGIN CERTIFICATE-----"));
  }
}

TEST_F(FileSecretSourceTest, AcceptsAnExactly64KiBFileAndIgnoresUnknownKeys) {
  SecretFiles files = GoodSecret();
  files["client-secret"] = std::string(64 * 1024, 'x');
  files["notes"] = "anything at all\n\n";
  Mount("mde", files);
  absl::StatusOr<Credential> credential = LoadOne("mde");
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->client_secret.size(), 64u * 1024);
}

TEST_F(FileSecretSourceTest, NormalisesAuthorityHost) {
  SecretFiles files = GoodSecret();
  files["authority-host"] = "https://login.microsoftonline.us/\n";
  Mount("gov", files);
  files["authority-host"] = "http://127.0.0.1:8443/\n";
  Mount("local", files);
  absl::StatusOr<Credential> gov = LoadOne("gov");
  ASSERT_THAT(gov, IsOk());
  EXPECT_EQ(gov->authority_host, "https://login.microsoftonline.us");
  absl::StatusOr<Credential> local = LoadOne("local");
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->authority_host, "http://127.0.0.1:8443");
}

// One way to break a good credential, and the error it must give.
struct BrokenCase {
  const char* name;
  std::function<void(SecretFiles&)> mutate;
  absl::StatusCode code;
  const char* message;
};

void PrintTo(const BrokenCase& broken, std::ostream* os) { *os << broken.name; }

const std::vector<BrokenCase>& BrokenCases() {
  using C = absl::StatusCode;
  static const auto* cases = new std::vector<BrokenCase>{
      {"secret_with_inner_space",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(kSecret, " more\n"); },
       C::kFailedPrecondition, "file client-secret: must not contain whitespace"},
      {"secret_with_leading_space",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(" ", kSecret, "\n"); },
       C::kFailedPrecondition, "file client-secret: must not contain whitespace"},
      {"secret_with_trailing_tab",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(kSecret, "\t\n"); },
       C::kFailedPrecondition, "file client-secret: must not contain whitespace"},
      {"secret_with_two_trailing_newlines",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(kSecret, "\n\n"); },
       C::kFailedPrecondition, "file client-secret: must not contain whitespace"},
      {"secret_with_bare_cr",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(kSecret, "\r"); },
       C::kFailedPrecondition, "file client-secret: must not contain whitespace"},
      {"tenant_with_leading_space",
       [](SecretFiles& f) { f["tenant-id"] = absl::StrCat(" ", kTenant, "\n"); },
       C::kFailedPrecondition, "file tenant-id: must not contain whitespace"},
      {"client_id_with_two_trailing_newlines",
       [](SecretFiles& f) { f["client-id"] = absl::StrCat(kClientId, "\n\n"); },
       C::kFailedPrecondition, "file client-id: must not contain whitespace"},
      {"empty_client_id", [](SecretFiles& f) { f["client-id"] = ""; }, C::kFailedPrecondition,
       "file client-id: is empty"},
      {"secret_of_only_a_newline", [](SecretFiles& f) { f["client-secret"] = "\n"; },
       C::kFailedPrecondition, "file client-secret: is empty"},
      {"missing_tenant_id", [](SecretFiles& f) { f.erase("tenant-id"); }, C::kNotFound,
       "file tenant-id: does not exist"},
      {"missing_client_id", [](SecretFiles& f) { f.erase("client-id"); }, C::kNotFound,
       "file client-id: does not exist"},
      {"missing_secret", [](SecretFiles& f) { f.erase("client-secret"); }, C::kNotFound,
       "needs a file client-secret or client-certificate"},
      {"secret_and_certificate",
       [](SecretFiles& f) {
         f["client-certificate"] = TestPem().certificate + TestPem().private_key;
       },
       C::kFailedPrecondition, "has both client-secret and client-certificate"},
      {"garbage_certificate",
       [](SecretFiles& f) {
         f.erase("client-secret");
         f["client-certificate"] = absl::StrCat("-----BEGIN CERTIFICATE-----\n", kSecret,
                                                "\n-----END CERTIFICATE-----\n");
       },
       C::kFailedPrecondition, "file client-certificate: has no PEM certificate"},
      {"empty_certificate",
       [](SecretFiles& f) {
         f.erase("client-secret");
         f["client-certificate"] = "";
       },
       C::kFailedPrecondition, "file client-certificate: is empty"},
      {"certificate_without_key",
       [](SecretFiles& f) {
         f.erase("client-secret");
         f["client-certificate"] = TestPem().certificate;
       },
       C::kFailedPrecondition, "file client-certificate: has no unencrypted PEM private key"},
      {"certificate_with_encrypted_key",
       [](SecretFiles& f) {
         f.erase("client-secret");
         f["client-certificate"] = TestPem().certificate + TestPem().encrypted_key;
       },
       C::kFailedPrecondition, "file client-certificate: has no unencrypted PEM private key"},
      {"certificate_with_another_key",
       [](SecretFiles& f) {
         f.erase("client-secret");
         f["client-certificate"] = TestPem().certificate + OtherPem().private_key;
       },
       C::kFailedPrecondition,
       "file client-certificate: the private key does not match the certificate"},
      {"client_id_not_a_guid", [](SecretFiles& f) { f["client-id"] = "my-app\n"; },
       C::kFailedPrecondition, "file client-id: must be a GUID"},
      {"client_id_guid_with_braces",
       [](SecretFiles& f) { f["client-id"] = absl::StrCat("{", kClientId, "}\n"); },
       C::kFailedPrecondition, "file client-id: must be a GUID"},
      {"tenant_single_label", [](SecretFiles& f) { f["tenant-id"] = "contoso\n"; },
       C::kFailedPrecondition, "file tenant-id: must be a GUID or a domain name"},
      {"tenant_with_underscore",
       [](SecretFiles& f) { f["tenant-id"] = "con_toso.onmicrosoft.com\n"; },
       C::kFailedPrecondition, "file tenant-id: must be a GUID or a domain name"},
      {"http_authority_not_loopback",
       [](SecretFiles& f) { f["authority-host"] = "http://login.example.com\n"; },
       C::kFailedPrecondition, "file authority-host: must use https"},
      {"authority_with_query",
       [](SecretFiles& f) { f["authority-host"] = "https://login.example.com/?x=1\n"; },
       C::kFailedPrecondition, "file authority-host: must not have a query"},
      {"authority_with_space",
       [](SecretFiles& f) { f["authority-host"] = "https://login.example.com /\n"; },
       C::kFailedPrecondition, "file authority-host: must not contain whitespace"},
      {"secret_over_64_kib",
       [](SecretFiles& f) { f["client-secret"] = absl::StrCat(kSecret, std::string(65536, 'x')); },
       C::kFailedPrecondition, "file client-secret: is larger than 65536 bytes"},
  };
  return *cases;
}

class BrokenCredentialTest : public ::testing::TestWithParam<BrokenCase> {
 protected:
  TempDir dir_;
};

TEST_P(BrokenCredentialTest, FailsNamingTheCredentialAndTheFile) {
  SecretFiles files = GoodSecret();
  GetParam().mutate(files);
  const std::string folder = dir_.path() + "/mde";
  ASSERT_THAT(WriteSecretVolume(folder, files), IsOk());
  EXPECT_THAT(FileSecretSource::LoadCredential("mde", folder),
              StatusIs(GetParam().code,
                       HasSubstr(absl::StrCat("credential \"mde\": ", GetParam().message))));
}

INSTANTIATE_TEST_SUITE_P(FileSecretSource, BrokenCredentialTest, ::testing::ValuesIn(BrokenCases()),
                         [](const ::testing::TestParamInfo<BrokenCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(FileSecretSourceTest, DanglingDataFails) {
  Mount("mde", GoodSecret());
  ASSERT_THAT(MakeDataDangling(Folder("mde")), IsOk());
  EXPECT_THAT(LoadOne("mde"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       "credential \"mde\": ..data is a dangling symlink (no "
                                       "such folder)"));
}

TEST_F(FileSecretSourceTest, DataThatIsNotASymlinkFails) {
  ASSERT_THAT(WritePlainFiles(Folder("mde"), GoodSecret()), IsOk());
  ASSERT_EQ(mkdir(Folder("mde/..data").c_str(), 0755), 0);
  EXPECT_THAT(LoadOne("mde"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("..data is not a symlink")));
}

TEST_F(FileSecretSourceTest, FifoIsRejectedWithoutBlocking) {
  SecretFiles files = GoodSecret();
  files.erase("client-secret");
  ASSERT_THAT(WritePlainFiles(Folder("mde"), files), IsOk());
  ASSERT_EQ(mkfifo(Folder("mde/client-secret").c_str(), 0600), 0);
  EXPECT_THAT(LoadOne("mde"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("file client-secret: is not a regular file")));
}

TEST_F(FileSecretSourceTest, UnreadableFileFails) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  ASSERT_THAT(WritePlainFiles(Folder("mde"), GoodSecret()), IsOk());
  ASSERT_EQ(chmod(Folder("mde/client-secret").c_str(), 0), 0);
  EXPECT_THAT(LoadOne("mde"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("file client-secret: cannot be opened")));
}

TEST_F(FileSecretSourceTest, LongestKubernetesNameIsAccepted) {
  const std::string name(253, 'a');
  Mount(name, GoodSecret());
  EXPECT_THAT(LoadOne(name), IsOk());
}

TEST_F(FileSecretSourceTest, LoadIgnoresHiddenEntriesAndPlainFiles) {
  Mount("mde", GoodSecret());
  ASSERT_THAT(WritePlainFiles(Folder(".hidden"), {{"client-id", "broken"}}), IsOk());
  ASSERT_THAT(WritePlainFiles(dir_.path(), {{"README", "not a credential"}}), IsOk());
  ASSERT_EQ(symlink(".hidden", Folder("..data").c_str()), 0);
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir_.path()).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_THAT(snapshot->credentials, ElementsAre(Pair("mde", ::testing::NotNull())));
  EXPECT_THAT(snapshot->failures, IsEmpty());
}

TEST_F(FileSecretSourceTest, LoadReportsFolderNamesThatAreNotKubernetesNames) {
  const std::vector<std::string> bad = {"Upper", "under_score", "-lead", "trail.",
                                        std::string(254, 'a')};
  for (const std::string& name : bad) Mount(name, GoodSecret());
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir_.path()).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_THAT(snapshot->credentials, IsEmpty());
  ASSERT_THAT(snapshot->failures, SizeIs(bad.size()));
  for (const std::string& name : bad) {
    EXPECT_THAT(snapshot->failures[name],
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("folder name must be a Kubernetes name")))
        << name;
  }
}

TEST_F(FileSecretSourceTest, BrokenCredentialDoesNotHideAGoodOne) {
  Mount("good", GoodSecret());
  SecretFiles broken = GoodSecret();
  broken.erase("client-id");
  Mount("broken", broken);
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir_.path()).Load();
  ASSERT_THAT(snapshot, IsOk());
  ASSERT_THAT(snapshot->credentials, ElementsAre(Pair("good", ::testing::NotNull())));
  EXPECT_EQ(snapshot->credentials["good"]->client_secret.Reveal(), kSecret);
  EXPECT_THAT(snapshot->failures,
              ElementsAre(Pair(
                  "broken", StatusIs(absl::StatusCode::kNotFound, HasSubstr("file client-id")))));
}

TEST_F(FileSecretSourceTest, EmptyDirLoadsNothing) {
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir_.path()).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_THAT(snapshot->credentials, IsEmpty());
  EXPECT_THAT(snapshot->failures, IsEmpty());
}

TEST_F(FileSecretSourceTest, MissingDirIsNotFound) {
  const std::string missing = dir_.path() + "/missing";
  EXPECT_THAT(FileSecretSource(missing).Load(),
              StatusIs(absl::StatusCode::kNotFound,
                       absl::StrCat("secrets dir \"", missing, "\" does not exist")));
}

TEST_F(FileSecretSourceTest, DirThatIsAFileFails) {
  ASSERT_THAT(WritePlainFiles(dir_.path(), {{"file", "x"}}), IsOk());
  EXPECT_THAT(FileSecretSource(Folder("file")).Load(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is not a folder")));
}

TEST_F(FileSecretSourceTest, KubernetesUpdateYieldsTheNewSecretAndANewVersion) {
  Mount("mde", GoodSecret());
  FileSecretSource source(dir_.path());
  absl::StatusOr<CredentialSnapshot> before = source.Load();
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->credentials.count("mde"), 1u);
  const std::string old_version = before->credentials["mde"]->version;

  SecretFiles rotated = GoodSecret();
  rotated["client-secret"] = "rotated-secret\n";
  ASSERT_THAT(UpdateSecretVolume(Folder("mde"), rotated), IsOk());
  absl::StatusOr<CredentialSnapshot> after = source.Load();
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->credentials.count("mde"), 1u);
  EXPECT_EQ(after->credentials["mde"]->client_secret.Reveal(), "rotated-secret");
  EXPECT_NE(after->credentials["mde"]->version, old_version);
  EXPECT_THAT(DataTarget(Folder("mde")), testing::IsOkAndHolds(after->credentials["mde"]->version));
  struct stat st;
  EXPECT_NE(lstat(Folder("mde/" + old_version).c_str(), &st), 0) << "old version not deleted";
}

TEST_F(FileSecretSourceTest, KubernetesUpdateFromSecretToCertificateRemovesTheSecretKey) {
  Mount("mde", GoodSecret());
  ASSERT_THAT(UpdateSecretVolume(Folder("mde"), GoodCertificate()), IsOk());
  struct stat st;
  EXPECT_NE(lstat(Folder("mde/client-secret").c_str(), &st), 0);
  absl::StatusOr<Credential> credential = LoadOne("mde");
  ASSERT_THAT(credential, IsOk());
  EXPECT_EQ(credential->kind, CredentialKind::kCertificate);
}

TEST_F(FileSecretSourceTest, NoMessageOrLogRevealsTheSecretOrIdentifiers) {
  for (size_t i = 0; i < BrokenCases().size(); ++i) {
    SecretFiles files = GoodSecret();
    BrokenCases()[i].mutate(files);
    Mount(absl::StrCat("case-", i), files);
  }
  Mount("dangling", GoodSecret());
  ASSERT_THAT(MakeDataDangling(Folder("dangling")), IsOk());
  Mount("Bad_Name", GoodSecret());

  std::ostringstream log;
  SetLogOutput(&log);
  SetLogLevel(LogLevel::kDebug);
  absl::StatusOr<CredentialSnapshot> snapshot = FileSecretSource(dir_.path()).Load();
  SetLogLevel(LogLevel::kInfo);
  SetLogOutput(nullptr);

  ASSERT_THAT(snapshot, IsOk());
  EXPECT_THAT(snapshot->credentials, IsEmpty());
  EXPECT_THAT(snapshot->failures, SizeIs(BrokenCases().size() + 2));
  for (const auto& [name, status] : snapshot->failures) {
    const std::string message(status.message());
    EXPECT_THAT(message, HasSubstr(absl::StrCat("credential \"", name, "\"")));
    for (const std::string& value :
         {std::string(kSecret), std::string(kTenant), std::string(kClientId),
          std::string("PRIVATE KEY"), std::string("CERTIFICATE--")}) {
      EXPECT_THAT(message, Not(HasSubstr(value))) << name;
    }
  }
  // Load() reports failures in the snapshot only: ServerRunner logs each problem once, when it
  // appears, rather than on every reload.
  EXPECT_THAT(log.str(), Not(HasSubstr("credential unusable")));
  EXPECT_THAT(log.str(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(log.str(), Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(FileSecretSourceTest, CertificateCredentialCarriesItsSignerAndExpiry) {
  Mount("cert", GoodCertificate());
  absl::StatusOr<Credential> credential = LoadOne("cert");
  ASSERT_THAT(credential, IsOk());
  ASSERT_NE(credential->assertion, nullptr);
  auto* signer = dynamic_cast<CertificateAssertion*>(credential->assertion.get());
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->algorithm(), AssertionAlgorithm::kPs256);
  EXPECT_EQ(credential->certificate_expires_at,
            absl::FromCivil(absl::CivilDay(2036, 1, 1), absl::UTCTimeZone()));
}

TEST_F(FileSecretSourceTest, FixedCertificateHasTheKnownThumbprint) {
  SecretFiles files = GoodCertificate();
  files["client-certificate"] = testing::FixedCertificate().Pem();
  Mount("fixed", files);
  absl::StatusOr<Credential> credential = LoadOne("fixed");
  ASSERT_THAT(credential, IsOk());
  EXPECT_THAT(credential->assertion->Describe(), HasSubstr(testing::kFixedCertificateThumbprint));
}

TEST_F(FileSecretSourceTest, AssertionAlgorithmFileSelectsRs256) {
  SecretFiles files = GoodCertificate();
  files["assertion-algorithm"] = "RS256\n";
  Mount("legacy", files);
  absl::StatusOr<Credential> credential = LoadOne("legacy");
  ASSERT_THAT(credential, IsOk());
  auto* signer = dynamic_cast<CertificateAssertion*>(credential->assertion.get());
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->algorithm(), AssertionAlgorithm::kRs256);
}

TEST_F(FileSecretSourceTest, BadCertificateSettingsNameTheFile) {
  SecretFiles unknown_algorithm = GoodCertificate();
  unknown_algorithm["assertion-algorithm"] = "HS256\n";
  Mount("unknown-algorithm", unknown_algorithm);
  EXPECT_THAT(LoadOne("unknown-algorithm"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("credential \"unknown-algorithm\": file assertion-algorithm: "
                                 "must be PS256 or RS256")));
  SecretFiles secret_with_algorithm = GoodSecret();
  secret_with_algorithm["assertion-algorithm"] = "RS256\n";
  Mount("secret-with-algorithm", secret_with_algorithm);
  EXPECT_THAT(LoadOne("secret-with-algorithm"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("file assertion-algorithm: applies to client-certificate "
                                 "credentials only")));
  SecretFiles ec = GoodCertificate();
  ec["client-certificate"] = testing::MakeEcCertificate().Pem();
  Mount("ec", ec);
  EXPECT_THAT(LoadOne("ec"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("credential \"ec\": file client-certificate: "
                                                "the key must be RSA")));
}

EnvLookup WebhookEnvironment(const std::string& client_id = kClientId) {
  auto variables =
      std::make_shared<const std::map<std::string, std::string>>(std::map<std::string, std::string>{
          {"AZURE_CLIENT_ID", client_id},
          {"AZURE_TENANT_ID", kTenant},
          {"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"},
          {"AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"}});
  return [variables](const char* name) -> const char* {
    auto it = variables->find(name);
    return it == variables->end() ? nullptr : it->second.c_str();
  };
}

TEST_F(FileSecretSourceTest, WorkloadIdentityVariablesAddACredentialBesideTheFolders) {
  Mount("mde", GoodSecret());
  absl::StatusOr<CredentialSnapshot> snapshot =
      FileSecretSource(dir_.path(), WebhookEnvironment()).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_THAT(snapshot->failures, IsEmpty());
  ASSERT_EQ(snapshot->credentials.count("mde"), 1u);
  ASSERT_EQ(snapshot->credentials.count(kWorkloadIdentityCredential), 1u);
  const Credential& wi = *snapshot->credentials.at(kWorkloadIdentityCredential);
  EXPECT_EQ(wi.kind, CredentialKind::kWorkloadIdentity);
  EXPECT_EQ(wi.authority_host, "https://login.microsoftonline.com");
  // Without the variables there is no such credential.
  absl::StatusOr<CredentialSnapshot> plain =
      FileSecretSource(dir_.path(), [](const char*) -> const char* { return nullptr; }).Load();
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->credentials.count(kWorkloadIdentityCredential), 0u);
}

TEST_F(FileSecretSourceTest, WorkloadIdentityAndAFolderOfTheSameNameConflict) {
  Mount("workload-identity", GoodSecret());
  absl::StatusOr<CredentialSnapshot> snapshot =
      FileSecretSource(dir_.path(), WebhookEnvironment()).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_EQ(snapshot->credentials.count(kWorkloadIdentityCredential), 0u);
  ASSERT_EQ(snapshot->failures.count(kWorkloadIdentityCredential), 1u);
  EXPECT_THAT(snapshot->failures.at(kWorkloadIdentityCredential),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is defined twice")));
}

TEST_F(FileSecretSourceTest, BrokenWorkloadIdentityVariablesAreAFailingCredential) {
  Mount("mde", GoodSecret());
  absl::StatusOr<CredentialSnapshot> snapshot =
      FileSecretSource(dir_.path(), WebhookEnvironment("not-a-guid")).Load();
  ASSERT_THAT(snapshot, IsOk());
  EXPECT_EQ(snapshot->credentials.count("mde"), 1u);
  ASSERT_EQ(snapshot->failures.count(kWorkloadIdentityCredential), 1u);
  EXPECT_THAT(snapshot->failures.at(kWorkloadIdentityCredential),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("variable AZURE_CLIENT_ID: must be a GUID")));
}

}  // namespace
}  // namespace tokend
