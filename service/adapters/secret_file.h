// Reading one secret-bearing file (a Secret key, a projected token) safely: opened without
// blocking (a FIFO planted at the path cannot hang the reader), regular files only (symlinks are
// followed, as the kubelet's ..data links need), at most `max_bytes`, into one buffer of the
// final capacity so that the SecretString wipes every byte read. Thread-safe.
#ifndef TOKEND_SERVICE_ADAPTERS_SECRET_FILE_H_
#define TOKEND_SERVICE_ADAPTERS_SECRET_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "service/common/secret_string.h"

namespace tokend {

// The file's content. Errors carry only the reason, for the caller to prefix with what the file
// is: NOT_FOUND "does not exist"; FAILED_PRECONDITION "cannot be opened: …", "cannot be read:
// …", "is not a regular file", "is larger than N bytes". Never any of the content.
absl::StatusOr<SecretString> ReadSecretFile(const std::string& path, size_t max_bytes);

}  // namespace tokend

#endif  // TOKEND_SERVICE_ADAPTERS_SECRET_FILE_H_
