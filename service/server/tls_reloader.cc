#include "service/server/tls_reloader.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/logging.h"
#include "service/common/openssl_ptr.h"
#include "service/common/status_macros.h"

namespace tokend {
namespace {

// How often gRPC's provider reads the published in-memory files: cheap, and it bounds the
// delay between a publication and the first handshake that uses it.
constexpr unsigned int kGrpcRefreshSeconds = 1;
constexpr size_t kMaxFileBytes = 1024 * 1024;
constexpr char kCertFlag[] = "--tls-cert-file";
constexpr char kKeyFlag[] = "--tls-key-file";
constexpr char kCaFlag[] = "--tls-client-ca-file";

struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// The files as read, before any check.
struct RawFiles {
  std::string certificate_chain;
  SecretString private_key;
  std::string client_ca;
};

absl::Status Bad(absl::string_view flag, const std::string& path, absl::string_view problem) {
  ERR_clear_error();  // Leave no parse errors behind on this thread's OpenSSL error queue.
  return absl::FailedPreconditionError(absl::StrCat(flag, " ", path, ": ", problem));
}

// Never prompt for a passphrase: an encrypted key fails to parse.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::StatusOr<std::string> ReadAll(absl::string_view flag, const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Bad(flag, path, absl::StrCat("cannot be read: ", std::strerror(errno)));
  std::string out;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return Bad(flag, path, absl::StrCat("cannot be read: ", std::strerror(error)));
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      close(fd);
      return Bad(flag, path, "is larger than 1 MiB");
    }
  }
  close(fd);
  return out;
}

absl::StatusOr<RawFiles> ReadRaw(const TlsFiles& files) {
  RawFiles raw;
  TOKEND_ASSIGN_OR_RETURN(raw.certificate_chain, ReadAll(kCertFlag, files.cert_file));
  absl::StatusOr<std::string> key = ReadAll(kKeyFlag, files.key_file);
  if (!key.ok()) return key.status();
  raw.private_key = SecretString(*std::move(key));
  if (!files.client_ca_file.empty()) {
    TOKEND_ASSIGN_OR_RETURN(raw.client_ca, ReadAll(kCaFlag, files.client_ca_file));
  }
  return raw;
}

// SHA-256 over the three files, each preceded by its length: equal iff the files are.
std::string DigestOf(const RawFiles& raw) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) != 1) return "";
  for (absl::string_view part : {absl::string_view(raw.certificate_chain), raw.private_key.Reveal(),
                                 absl::string_view(raw.client_ca)}) {
    const std::string length = absl::StrCat(part.size(), ":");
    EVP_DigestUpdate(ctx.get(), length.data(), length.size());
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1) return "";
  return std::string(reinterpret_cast<const char*>(digest), size);
}

size_t CountOf(absl::string_view text, absl::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// Every PEM certificate of `pem`: at least one, and each must parse (a file cut short by a
// writer caught half way leaves a block that does not).
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view flag,
                                                       const std::string& path,
                                                       absl::string_view pem) {
  const size_t blocks = CountOf(pem, "-----BEGIN CERTIFICATE-----");
  if (blocks == 0) return Bad(flag, path, "has no PEM certificate");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return Bad(flag, path, "cannot be parsed (out of memory)");
  std::vector<X509Ptr> certificates;
  while (certificates.size() < blocks) {
    X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (certificate == nullptr) break;
    certificates.emplace_back(certificate);
  }
  ERR_clear_error();
  if (certificates.size() != blocks) {
    return Bad(flag, path,
               absl::StrCat("PEM certificate ", certificates.size() + 1, " of ", blocks,
                            " cannot be parsed (cut short or corrupt)"));
  }
  return certificates;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(const std::string& path, const SecretString& pem) {
  const absl::string_view text = pem.Reveal();
  if (absl::StrContains(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
      absl::StrContains(text, "Proc-Type: 4,ENCRYPTED")) {
    return Bad(kKeyFlag, path, "holds an encrypted private key; tokend needs it unencrypted");
  }
  if (!absl::StrContains(text, "PRIVATE KEY-----")) {
    return Bad(kKeyFlag, path, "has no PEM private key");
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
                     : nullptr);
  if (key == nullptr) {
    return Bad(kKeyFlag, path, "its PEM private key cannot be parsed (cut short or corrupt)");
  }
  ERR_clear_error();
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string PemOf(const std::vector<X509Ptr>& certificates) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  for (const X509Ptr& certificate : certificates) PEM_write_bio_X509(bio.get(), certificate.get());
  return BioText(bio.get());
}

// PKCS#8 PEM, built in OpenSSL's secure heap (cleansed when freed).
SecretString PemOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SecretString();
  }
  return SecretString(BioText(bio.get()));
}

std::string SubjectOf(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  return BioText(bio.get());
}

std::string SerialOf(X509* certificate) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  char* hex = serial != nullptr ? BN_bn2hex(serial.get()) : nullptr;
  if (hex == nullptr) return "";
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

absl::Time NotAfterOf(X509* certificate) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &tm) != 1) return absl::InfinitePast();
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                           tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

absl::StatusOr<TlsMaterial> Check(const TlsFiles& files, const RawFiles& raw) {
  TOKEND_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                          ParseCertificates(kCertFlag, files.cert_file, raw.certificate_chain));
  TOKEND_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKey(files.key_file, raw.private_key));
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    return Bad(kKeyFlag, files.key_file,
               absl::StrCat("does not match the (first) certificate of ", kCertFlag, " ",
                            files.cert_file));
  }
  TlsMaterial material;
  if (!files.client_ca_file.empty()) {
    TOKEND_ASSIGN_OR_RETURN(std::vector<X509Ptr> authorities,
                            ParseCertificates(kCaFlag, files.client_ca_file, raw.client_ca));
    material.client_ca = PemOf(authorities);
  }
  material.certificate_chain = PemOf(chain);
  material.private_key = PemOf(key.get());
  if (material.certificate_chain.empty() || material.private_key.empty() ||
      (!files.client_ca_file.empty() && material.client_ca.empty())) {
    return Bad(kCertFlag, files.cert_file, "cannot be re-encoded (out of memory)");
  }
  material.subject = SubjectOf(chain.front().get());
  material.serial = SerialOf(chain.front().get());
  material.not_after = NotAfterOf(chain.front().get());
  ERR_clear_error();
  return material;
}

// The certificate chain and the key in one PEM text: gRPC reads its key and its chain from it.
SecretString IdentityOf(const TlsMaterial& material) {
  return SecretString(absl::StrCat(material.certificate_chain, material.private_key.Reveal()));
}

void LogLoaded(const TlsMaterial& material) {
  const std::string not_after =
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", material.not_after, absl::UTCTimeZone());
  LogInfo("TLS certificate loaded", {{"subject", material.subject},
                                     {"serial", material.serial},
                                     {"not_after", not_after},
                                     {"client_ca", !material.client_ca.empty()}});
  if (material.not_after < absl::Now()) {
    LogWarning("the TLS certificate has expired; clients will refuse it",
               {{"serial", material.serial}, {"not_after", not_after}});
  }
}

}  // namespace

// An in-memory file (memfd) that gRPC reads by the path /proc/self/fd/N. Each content is
// written to a new sealed memfd which then atomically takes the descriptor number N, so a
// reader sees the old content or the new one, whole, never a mix; and each has a later
// modification time (whole seconds, as gRPC compares them) than the one before.
class TlsReloader::MemoryFile {
 public:
  static absl::StatusOr<std::unique_ptr<MemoryFile>> Create(absl::string_view content) {
    const int64_t mtime = static_cast<int64_t>(std::time(nullptr));
    TOKEND_ASSIGN_OR_RETURN(int fd, NewSealed(content, mtime));
    std::unique_ptr<MemoryFile> file(new MemoryFile(fd, mtime));
    const int probe = open(file->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (probe < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot open ", file->path(), " (", std::strerror(errno),
          "): tokend hands its TLS files to gRPC through /proc, which must be mounted"));
    }
    close(probe);
    return file;
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  absl::Status Replace(absl::string_view content) {
    const int64_t mtime = std::max(static_cast<int64_t>(std::time(nullptr)), mtime_ + 1);
    TOKEND_ASSIGN_OR_RETURN(int fd, NewSealed(content, mtime));
    const bool swapped = dup3(fd, fd_, O_CLOEXEC) >= 0;
    const int error = errno;
    close(fd);
    if (!swapped) {
      return absl::InternalError(
          absl::StrCat("cannot publish the TLS files: dup3: ", std::strerror(error)));
    }
    mtime_ = mtime;
    return absl::OkStatus();
  }

  std::string path() const { return absl::StrCat("/proc/self/fd/", fd_); }

 private:
  MemoryFile(int fd, int64_t mtime) : fd_(fd), mtime_(mtime) {}

  static absl::StatusOr<int> NewSealed(absl::string_view content, int64_t mtime) {
    const int fd = memfd_create("tokend-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
    }
    size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = write(fd, content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = errno;
        close(fd);
        return absl::InternalError(absl::StrCat("memfd write: ", std::strerror(error)));
      }
      written += static_cast<size_t>(n);
    }
    const timespec times[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
        futimens(fd, times) != 0) {
      const int error = errno;
      close(fd);
      return absl::InternalError(absl::StrCat("memfd seal: ", std::strerror(error)));
    }
    return fd;
  }

  int fd_;         // The descriptor number gRPC's path names; its file is replaced.
  int64_t mtime_;  // Of the current content, in seconds.
};

absl::StatusOr<TlsMaterial> ReadTlsMaterial(const TlsFiles& files) {
  TOKEND_ASSIGN_OR_RETURN(RawFiles raw, ReadRaw(files));
  return Check(files, raw);
}

TlsReloader::TlsReloader(const TlsFiles& files, Metrics& metrics)
    : files_(files), metrics_(metrics) {}

absl::StatusOr<std::unique_ptr<TlsReloader>> TlsReloader::Start(const TlsFiles& files,
                                                                Metrics& metrics) {
  std::unique_ptr<TlsReloader> reloader(new TlsReloader(files, metrics));
  std::string identity_path, client_ca_path;
  {
    absl::MutexLock lock(&reloader->mu_);
    TOKEND_ASSIGN_OR_RETURN(RawFiles raw, ReadRaw(files));
    TOKEND_ASSIGN_OR_RETURN(TlsMaterial material, Check(files, raw));
    TOKEND_ASSIGN_OR_RETURN(reloader->identity_, MemoryFile::Create(IdentityOf(material).Reveal()));
    identity_path = reloader->identity_->path();
    if (!files.client_ca_file.empty()) {
      TOKEND_ASSIGN_OR_RETURN(reloader->client_ca_, MemoryFile::Create(material.client_ca));
      client_ca_path = reloader->client_ca_->path();
    }
    reloader->seen_digest_ = DigestOf(raw);
    LogLoaded(material);
  }
  // The provider reads the files once now, then every kGrpcRefreshSeconds on its own thread.
  reloader->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity_path, identity_path, client_ca_path, kGrpcRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(reloader->provider_);
  options.watch_identity_key_cert_pairs();
  if (!client_ca_path.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  reloader->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (reloader->credentials_ == nullptr) {
    return absl::InternalError("gRPC refused the TLS server credentials");
  }
  TlsReloader* self = reloader.get();
  reloader->poller_ = std::thread([self] {
    // std::condition_variable waits on CLOCK_MONOTONIC: a wall-clock jump cannot stretch the
    // interval (abseil's timed waits have wall-clock deadlines).
    const auto interval = absl::ToChronoNanoseconds(self->files_.refresh_interval);
    std::unique_lock<std::mutex> lock(self->stop_mu_);
    while (!self->stop_cv_.wait_for(lock, interval, [self] { return self->stopping_; })) {
      lock.unlock();
      self->Refresh().IgnoreError();
      lock.lock();
    }
  });
  return reloader;
}

TlsReloader::~TlsReloader() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

absl::Status TlsReloader::Refresh() {
  absl::MutexLock lock(&mu_);
  // A rotation caught half way (the certificate read before a ..data swap, the key after) does
  // not match; the second read then sees the new files whole.
  std::string digest;
  absl::StatusOr<TlsMaterial> material = absl::UnknownError("not read");
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<RawFiles> raw = ReadRaw(files_);
    std::string read_digest =
        raw.ok() ? DigestOf(*raw) : absl::StrCat("unreadable: ", raw.status().message());
    if (read_digest == seen_digest_) return seen_status_;
    if (attempt > 0 && read_digest == digest) break;  // The same content: the same verdict.
    digest = std::move(read_digest);
    material = raw.ok() ? Check(files_, *raw) : raw.status();
    if (material.ok()) break;
  }
  seen_digest_ = digest;
  seen_status_ = material.status();
  if (seen_status_.ok()) seen_status_ = PublishLocked(*material);
  metrics_.TlsReload(seen_status_.ok());
  if (!seen_status_.ok()) {
    LogError("TLS files rejected; new connections keep getting the last good certificate",
             {{"error", std::string(seen_status_.message())}});
    return seen_status_;
  }
  LogLoaded(*material);
  return absl::OkStatus();
}

absl::Status TlsReloader::PublishLocked(const TlsMaterial& material) {
  // The CA first: a new server certificate may come with the CA its clients now use.
  if (client_ca_ != nullptr) TOKEND_RETURN_IF_ERROR(client_ca_->Replace(material.client_ca));
  return identity_->Replace(IdentityOf(material).Reveal());
}

}  // namespace tokend
