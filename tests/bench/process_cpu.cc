#include "tests/bench/process_cpu.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tokend::bench {

absl::StatusOr<absl::Duration> ProcessCpuTime(int pid) {
  const std::string path = pid == 0 ? "/proc/self/stat" : absl::StrCat("/proc/", pid, "/stat");
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(absl::StrCat("no process ", pid, " (cannot read ", path, ")"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so the fields are
  // counted from the last ')'. utime and stime are fields 14 and 15 (man 5 proc), i.e. the
  // 12th and 13th after it.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return absl::InternalError(absl::StrCat("cannot parse ", path));
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError(absl::StrCat("cannot parse ", path));
  }
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return absl::InternalError("sysconf(_SC_CLK_TCK) failed");
  return absl::Seconds(static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second));
}

int AllowedCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace tokend::bench
