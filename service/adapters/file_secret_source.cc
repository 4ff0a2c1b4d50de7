#include "service/adapters/file_secret_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "service/adapters/secret_file.h"
#include "service/adapters/workload_identity.h"
#include "service/common/logging.h"
#include "service/common/openssl_ptr.h"
#include "service/common/secret_string.h"
#include "service/common/status_macros.h"
#include "service/core/certificate_assertion.h"
#include "service/core/identifiers.h"

namespace tokend {
namespace {

constexpr size_t kMaxFileSize = 64 * 1024;  // Bytes; a larger file is rejected, not truncated.
constexpr int kMaxAttempts = 5;             // Reads of a credential while ..data keeps moving.
constexpr char kData[] = "..data";
constexpr char kTenantId[] = "tenant-id";
constexpr char kClientId[] = "client-id";
constexpr char kClientSecret[] = "client-secret";
constexpr char kCertificate[] = "client-certificate";
constexpr char kAuthorityHost[] = "authority-host";
constexpr char kAssertionAlgorithm[] = "assertion-algorithm";
constexpr const char* kKeys[] = {kTenantId,    kClientId,      kClientSecret,
                                 kCertificate, kAuthorityHost, kAssertionAlgorithm};

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// The OS's description of `err`, lowercase ("permission denied").
std::string ErrnoText(int err) {
  return absl::AsciiStrToLower(std::generic_category().message(err));
}

// Files of one credential as read, by key; absent optional files are missing from the map.
using Files = std::map<std::string, SecretString>;

// Returns true iff `name` matches [a-z0-9]([-a-z0-9.]*[a-z0-9])? and has at most 253 chars.
bool IsKubernetesName(absl::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  auto end_ok = [](char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); };
  if (!end_ok(name.front()) || !end_ok(name.back())) return false;
  for (char c : name) {
    if (!end_ok(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// Reads `folder`/`key` into `files`. A missing file is left out of `files` (not an error). The
// file must be a regular file (symlinks are followed) of at most kMaxFileSize bytes.
absl::Status ReadKey(const std::string& prefix, const std::string& folder, const char* key,
                     Files& files) {
  auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(prefix, "file ", key, ": ", why));
  };
  absl::StatusOr<SecretString> content =
      ReadSecretFile(absl::StrCat(folder, "/", key), kMaxFileSize);
  if (absl::IsNotFound(content.status())) return absl::OkStatus();
  if (!content.ok()) return fail(content.status().message());
  files.emplace(key, *std::move(content));
  return absl::OkStatus();
}

absl::Status ReadKeys(const std::string& prefix, const std::string& folder, Files& files) {
  files.clear();
  for (const char* key : kKeys) TOKEND_RETURN_IF_ERROR(ReadKey(prefix, folder, key, files));
  return absl::OkStatus();
}

// Returns the target of the symlink `path`, or NOT_FOUND if there is nothing at `path`.
absl::StatusOr<std::string> ReadLink(const std::string& prefix, const std::string& path) {
  std::string target(4096, '\0');
  ssize_t n = readlink(path.c_str(), target.data(), target.size());
  if (n < 0 && errno == ENOENT) return absl::NotFoundError("");
  if (n < 0 && errno == EINVAL) {
    return absl::FailedPreconditionError(prefix + "..data is not a symlink");
  }
  if (n < 0 || static_cast<size_t>(n) >= target.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "..data cannot be read: ", n < 0 ? ErrnoText(errno) : "too long"));
  }
  target.resize(static_cast<size_t>(n));
  return target;
}

// The first 16 hex digits of a SHA-256 over the keys and contents of `files`.
std::string ContentHash(const Files& files) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) == 1;
  for (const auto& [key, content] : files) {
    std::string header = absl::StrCat(key, "\n", content.size(), "\n");  // Unambiguous framing.
    ok = ok && EVP_DigestUpdate(ctx.get(), header.data(), header.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), content.Reveal().data(), content.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) == 1;
  if (!ok) return "unhashed";  // Cannot happen with a working libcrypto; still a valid version.
  return absl::BytesToHexString(
             absl::string_view(reinterpret_cast<const char*>(digest), digest_size))
      .substr(0, 16);
}

// Reads the files of one credential, all from the same version of the Secret. Sets `version`.
absl::Status ReadConsistent(const std::string& prefix, const std::string& folder, Files& files,
                            std::string& version) {
  const std::string data_link = absl::StrCat(folder, "/", kData);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<std::string> target = ReadLink(prefix, data_link);
    if (absl::IsNotFound(target.status())) {  // Plain files: no version to pin.
      TOKEND_RETURN_IF_ERROR(ReadKeys(prefix, folder, files));
      version = ContentHash(files);
      return absl::OkStatus();
    }
    if (!target.ok()) return target.status();
    const std::string data_dir =
        absl::StartsWith(*target, "/") ? *target : absl::StrCat(folder, "/", *target);
    struct stat st;
    absl::Status read = stat(data_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)
                            ? ReadKeys(prefix, data_dir, files)
                            : absl::FailedPreconditionError(
                                  prefix + "..data is a dangling symlink (no such folder)");
    absl::StatusOr<std::string> after = ReadLink(prefix, data_link);
    if (after.ok() && *after == *target) {  // Not swapped meanwhile: one consistent version.
      version = *target;
      return read;
    }
  }
  return absl::AbortedError(
      absl::StrCat(prefix, "..data changed during each of ", kMaxAttempts, " reads"));
}

// Returns the file `key` as a value: one trailing "\n" or "\r\n" removed, non-empty, and free of
// whitespace and control characters. NOT_FOUND if absent. The result points into `files`.
absl::StatusOr<absl::string_view> Value(const std::string& prefix, const Files& files,
                                        const char* key) {
  auto it = files.find(key);
  if (it == files.end()) {
    return absl::NotFoundError(absl::StrCat(prefix, "file ", key, ": does not exist"));
  }
  absl::string_view value = it->second.Reveal();
  if (absl::ConsumeSuffix(&value, "\n")) absl::ConsumeSuffix(&value, "\r");
  auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(prefix, "file ", key, ": ", why));
  };
  if (value.empty()) return fail("is empty");
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f') {
      return fail(
          "must not contain whitespace or control characters (one trailing newline is allowed)");
    }
  }
  return value;
}

// Makes the assertion signer of a certificate credential from `client-certificate` and the
// optional `assertion-algorithm`.
absl::Status AddCertificate(const std::string& prefix, Files& files, Credential& credential) {
  CertificateAssertionOptions options;
  if (files.count(kAssertionAlgorithm) > 0) {
    TOKEND_ASSIGN_OR_RETURN(absl::string_view name, Value(prefix, files, kAssertionAlgorithm));
    std::optional<AssertionAlgorithm> algorithm = ParseAssertionAlgorithm(name);
    if (!algorithm.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "file ", kAssertionAlgorithm, ": must be PS256 or RS256"));
    }
    options.algorithm = *algorithm;
  }
  absl::StatusOr<std::unique_ptr<CertificateAssertion>> signer =
      CertificateAssertion::Create(files[kCertificate], std::move(options));
  if (!signer.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "file ", kCertificate, ": ", signer.status().message()));
  }
  credential.kind = CredentialKind::kCertificate;
  credential.certificate_pem = files[kCertificate];  // A copy sized to fit; `files` is wiped.
  credential.certificate_expires_at = (*signer)->not_after();
  credential.assertion = *std::move(signer);
  return absl::OkStatus();
}

// Files that hold a secret: they should be readable by tokend's user (and group) only.
constexpr const char* kSecretKeys[] = {kClientSecret, kCertificate};

// Adds a warning to `credential` for each secret file in `folder` that other users may read.
// The kubelet gives a Secret volume's files mode 0644 unless the pod says otherwise. A warning,
// not a refusal: only the containers that mount the volume see the files at all.
void WarnAboutOpenModes(const std::string& folder, Credential& credential) {
  for (const char* key : kSecretKeys) {
    struct stat st;
    if (stat(absl::StrCat(folder, "/", key).c_str(), &st) != 0) continue;
    if ((st.st_mode & S_IROTH) == 0) continue;
    credential.warnings.push_back(absl::StrCat(
        "file ", key, " is readable by other users (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777),
        "); set defaultMode: 0400 (or 0440 with the pod's fsGroup) on the Secret volume"));
  }
}

// Checks and assembles a credential from the files read.
absl::StatusOr<Credential> Assemble(const std::string& prefix, Files& files) {
  Credential credential;
  TOKEND_ASSIGN_OR_RETURN(absl::string_view tenant_id, Value(prefix, files, kTenantId));
  credential.tenant_id = std::string(tenant_id);
  if (!IsTenantId(credential.tenant_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "file ", kTenantId, ": must be a GUID or a domain name"));
  }
  TOKEND_ASSIGN_OR_RETURN(absl::string_view client_id, Value(prefix, files, kClientId));
  credential.client_id = std::string(client_id);
  if (!IsGuid(credential.client_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "file ", kClientId, ": must be a GUID"));
  }
  const bool has_secret = files.count(kClientSecret) > 0;
  const bool has_cert = files.count(kCertificate) > 0;
  if (has_secret && has_cert) {
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "has both ", kClientSecret, " and ", kCertificate));
  }
  if (has_secret) {
    TOKEND_ASSIGN_OR_RETURN(absl::string_view secret, Value(prefix, files, kClientSecret));
    credential.kind = CredentialKind::kClientSecret;
    credential.client_secret = SecretString(std::string(secret));
  } else if (has_cert) {
    TOKEND_RETURN_IF_ERROR(AddCertificate(prefix, files, credential));
  } else {
    return absl::NotFoundError(
        absl::StrCat(prefix, "needs a file ", kClientSecret, " or ", kCertificate));
  }
  if (!has_cert && files.count(kAssertionAlgorithm) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        prefix, "file ", kAssertionAlgorithm, ": applies to ", kCertificate, " credentials only"));
  }
  if (files.count(kAuthorityHost) > 0) {
    TOKEND_ASSIGN_OR_RETURN(absl::string_view host, Value(prefix, files, kAuthorityHost));
    absl::StatusOr<std::string> normalized = NormalizeAuthorityHost(kAuthorityHost, host);
    if (!normalized.ok()) {
      // The message names the field and the problem, not the value.
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "file ", normalized.status().message()));
    }
    credential.authority_host = *std::move(normalized);
  }
  return credential;
}

}  // namespace

absl::StatusOr<Credential> FileSecretSource::LoadCredential(const std::string& name,
                                                            const std::string& folder) {
  const std::string prefix = absl::StrCat("credential \"", absl::CHexEscape(name), "\": ");
  if (!IsKubernetesName(name)) {
    return absl::FailedPreconditionError(absl::StrCat(
        prefix,
        "folder name must be a Kubernetes name (lowercase letters, digits, '-' and '.', "
        "starting and ending with a letter or digit, at most 253 characters)"));
  }
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(prefix + "folder does not exist");
    return absl::FailedPreconditionError(
        absl::StrCat(prefix, "folder cannot be read: ", ErrnoText(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(prefix + "is not a folder");
  Files files;
  std::string version;
  TOKEND_RETURN_IF_ERROR(ReadConsistent(prefix, folder, files, version));
  TOKEND_ASSIGN_OR_RETURN(Credential credential, Assemble(prefix, files));
  WarnAboutOpenModes(folder, credential);
  credential.name = name;
  credential.version = std::move(version);
  return credential;
}

absl::StatusOr<CredentialSnapshot> FileSecretSource::Load() {
  const std::string quoted = absl::StrCat("secrets dir \"", absl::CHexEscape(dir_), "\"");
  struct stat st;
  if (stat(dir_.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(quoted + " does not exist");
    return absl::FailedPreconditionError(
        absl::StrCat(quoted, " cannot be read: ", ErrnoText(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(quoted + " is not a folder");
  std::unique_ptr<DIR, DirCloser> dir(opendir(dir_.c_str()));
  if (dir == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(quoted, " cannot be read: ", ErrnoText(errno)));
  }
  std::set<std::string> names;
  errno = 0;
  while (const dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] != '.') names.insert(entry->d_name);  // Hidden, ".", "..", "..data".
    errno = 0;
  }
  if (errno != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(quoted, " cannot be read: ", ErrnoText(errno)));
  }
  CredentialSnapshot snapshot;
  for (const std::string& name : names) {
    const std::string folder = absl::StrCat(dir_, "/", name);
    const int stat_result = stat(folder.c_str(), &st);
    if (stat_result != 0 && errno == ENOENT) continue;  // Removed since listed, or dangling.
    if (stat_result == 0 && !S_ISDIR(st.st_mode)) {
      LogDebug("ignoring a file that is not a folder in the secrets dir", {{"file", name}});
      continue;
    }
    absl::StatusOr<Credential> credential = LoadCredential(name, folder);
    if (credential.ok()) {
      snapshot.credentials[name] = std::make_shared<const Credential>(*std::move(credential));
    } else {
      // Reported by whoever applies the snapshot (ServerRunner logs each problem once).
      snapshot.failures[name] = credential.status();
    }
  }
  AddWorkloadIdentity(snapshot);
  return snapshot;
}

void FileSecretSource::AddWorkloadIdentity(CredentialSnapshot& snapshot) const {
  const std::string name = kWorkloadIdentityCredential;
  absl::StatusOr<std::optional<Credential>> credential = WorkloadIdentityFromEnvironment(env_);
  if (credential.ok() && !credential->has_value()) return;  // Not in use.
  absl::Status problem = credential.status();
  if (problem.ok() && (snapshot.credentials.count(name) > 0 || snapshot.failures.count(name) > 0)) {
    problem = absl::FailedPreconditionError(
        absl::StrCat("credential \"", name,
                     "\": is defined twice, by the AZURE_* variables of workload "
                     "identity and by the folder ",
                     name, " in the secrets dir; rename the folder"));
  }
  if (!problem.ok()) {
    snapshot.credentials.erase(name);
    snapshot.failures[name] = problem;
    return;
  }
  snapshot.credentials[name] = std::make_shared<const Credential>(**std::move(credential));
}

EnvLookup FileSecretSource::ProcessEnvironment() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

}  // namespace tokend
