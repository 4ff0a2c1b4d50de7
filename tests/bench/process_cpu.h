// Reads how much CPU time a process has used, from /proc (Linux only).
#ifndef TOKEND_TESTS_BENCH_PROCESS_CPU_H_
#define TOKEND_TESTS_BENCH_PROCESS_CPU_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tokend::bench {

// The user plus system CPU time used so far by every thread of process `pid` (0: this
// process), from /proc/PID/stat, at the kernel's clock-tick resolution (usually 10 ms).
// NOT_FOUND if there is no such process; INTERNAL if the file cannot be parsed.
absl::StatusOr<absl::Duration> ProcessCpuTime(int pid);

// The number of CPUs this process may run on (its affinity mask, e.g. as set by taskset); at
// least 1.
int AllowedCpuCount();

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_PROCESS_CPU_H_
