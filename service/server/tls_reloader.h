// TlsReloader: the TLS server credentials of tokend's TCP listeners, from --tls-cert-file,
// --tls-key-file and --tls-client-ca-file, reloaded when the files change (a Kubernetes Secret
// update swaps the volume's ..data symlink; cert-manager renews certificates that way).
//
// gRPC 1.51's FileWatcherCertificateProvider hands whatever bytes it reads to the TLS stack: a
// half-written certificate, or a key that does not match it, makes gRPC drop its working
// handshaker and fail every new handshake until the files are fixed (read in the 1.51 sources of
// TlsServerSecurityConnector::UpdateHandshakerFactoryLocked, and shown by
// tls_policy_integration_test). So gRPC never reads the operator's files. TlsReloader reads
// them every --tls-refresh-interval (and on Refresh()), checks them with OpenSSL (the chain and
// the CA bundle parse, the key parses and matches the first certificate), and only then
// publishes them, re-encoded, to in-memory files (memfd, read through /proc/self/fd) that gRPC's
// provider watches every second. A rejected set is logged and counted once; the last good one
// stays in use. The certificate chain and the key are published in one file, replaced
// atomically (dup3) with a later modification time, so that gRPC's read of the pair, which
// compares the modification times before and after, never mixes two versions.
//
// With a client CA, clients must present a certificate it signed (mTLS). Thread-safe.
#ifndef TOKEND_SERVICE_SERVER_TLS_RELOADER_H_
#define TOKEND_SERVICE_SERVER_TLS_RELOADER_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/secret_string.h"
#include "service/config/config.h"
#include "service/core/metrics.h"

namespace tokend {

// The TLS files' content, checked, in the form handed to gRPC.
struct TlsMaterial {
  std::string certificate_chain;  // PEM certificates, re-encoded, the server's own first.
  SecretString private_key;       // PEM PKCS#8, unencrypted.
  std::string client_ca;          // PEM certificates; empty without --tls-client-ca-file.
  // The server certificate, for logs: subject (RFC 2253), serial (hex), notAfter.
  std::string subject;
  std::string serial;
  absl::Time not_after;
};

// Reads and checks the files of `files`. FAILED_PRECONDITION naming the flag and the file when
// one cannot be read, has no PEM certificate (or key), holds one that cannot be parsed (e.g.
// cut short), has an encrypted key, or when the key does not match the certificate. Messages
// never quote the key.
absl::StatusOr<TlsMaterial> ReadTlsMaterial(const TlsFiles& files);

class TlsReloader {
 public:
  // Reads and checks the files (errors as ReadTlsMaterial), publishes them, and starts polling
  // them every files.refresh_interval. REQUIRES: files.enabled(). `metrics` must outlive this
  // object; it counts the changes applied and rejected after the start.
  static absl::StatusOr<std::unique_ptr<TlsReloader>> Start(const TlsFiles& files,
                                                            Metrics& metrics);
  ~TlsReloader();  // Stops polling. gRPC may go on using the credentials.
  TlsReloader(const TlsReloader&) = delete;
  TlsReloader& operator=(const TlsReloader&) = delete;

  // For the TCP listeners; new connections get the last good files within a second of their
  // publication.
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }

  // Reads the files now. OK if they are in use (unchanged, or changed and published); else
  // the check's error, logged (once per distinct bad content) and counted, and the last good
  // files stay in use.
  absl::Status Refresh();

 private:
  class MemoryFile;
  TlsReloader(const TlsFiles& files, Metrics& metrics);
  // Publishes `material`. REQUIRES: it passed the checks.
  absl::Status PublishLocked(const TlsMaterial& material) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TlsFiles files_;
  Metrics& metrics_;

  absl::Mutex mu_;  // One refresh at a time.
  // Declared before provider_, which reads them: destroyed after it.
  std::unique_ptr<MemoryFile> identity_ ABSL_GUARDED_BY(mu_);   // Chain + key, for gRPC.
  std::unique_ptr<MemoryFile> client_ca_ ABSL_GUARDED_BY(mu_);  // With a client CA.
  std::string seen_digest_ ABSL_GUARDED_BY(mu_);   // SHA-256 of the files as last read.
  absl::Status seen_status_ ABSL_GUARDED_BY(mu_);  // What that content's check said.

  // Constant after Start.
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // Guarded by stop_mu_ (a std::mutex, for the monotonic wait).
  std::thread poller_;     // Calls Refresh() every refresh_interval until stopping_.
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_SERVER_TLS_RELOADER_H_
