// Process hardening done once at start-up, before any secret is read: the process is marked
// non-dumpable (no core file, and /proc/PID/mem, environ and ptrace closed to other processes
// of the same user, such as another container sharing the pod's process namespace) and its core
// file size limit is set to zero, so a crash leaves no image of secrets or tokens on disk.
#ifndef TOKEND_SERVICE_COMMON_PROCESS_HARDENING_H_
#define TOKEND_SERVICE_COMMON_PROCESS_HARDENING_H_

#include "absl/status/status.h"

namespace tokend {

// INTERNAL naming the call that failed (prctl or setrlimit); the caller decides whether to go
// on (tokend logs the error and refuses to start).
absl::Status HardenProcess();

}  // namespace tokend

#endif  // TOKEND_SERVICE_COMMON_PROCESS_HARDENING_H_
