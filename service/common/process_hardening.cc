#include "service/common/process_hardening.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tokend {

absl::Status HardenProcess() {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("prctl(PR_SET_DUMPABLE, 0) failed: ", std::strerror(errno)));
  }
  const rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_CORE, 0) failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tokend
