// A gRPC load generator. Closed loop (the default): `concurrency` calls are always outstanding,
// spread over `channels` channels (one connection each) and `threads` completion queues, each
// call started again as soon as the previous one on its slot completes. Open loop (`rate` > 0):
// calls start on a fixed schedule, `rate` per second in all, whatever the replies do; at most
// `concurrency` are outstanding, a call due while every slot is busy starts when one frees (not
// at all if the measured interval ends first), and latency is measured from the time the call
// was due, so a stalled server shows in the percentiles instead of slowing the schedule down (no
// coordinated omission). Requests are pre-serialized bytes sent through a generic stub, so the
// client does no protobuf work while it runs. With several requests, the calls take them in
// turn; with `each_once`, every request is sent exactly once and the run ends when the last reply
// arrives (for work that must not repeat, such as validating distinct tokens that the server
// would otherwise remember).
#ifndef TOKEND_TESTS_BENCH_LOAD_GENERATOR_H_
#define TOKEND_TESTS_BENCH_LOAD_GENERATOR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/bench/histogram.h"

namespace tokend::bench {

struct LoadOptions {
  std::string target;                 // gRPC target: "unix:///path", "unix:/path" or "host:port".
  std::string method_path;            // e.g. "/tokend.v1.TokenService/GetToken".
  std::vector<std::string> requests;  // Serialized request messages; at least one.
  bool each_once = false;    // Send each request once, with no warm-up; `duration` is a cap.
  bool check_valid = false;  // ValidateToken: read each OK reply and count `valid=false` ones.
  int concurrency = 1;       // Calls outstanding at any time (open loop: at most); >= 1.
  double rate = 0;           // > 0: open loop, this many calls started per second in all.
  int channels = 1;          // In [1, concurrency].
  int threads = 2;           // Completion queues, one thread each; >= 1.
  absl::Duration warmup = absl::Seconds(2);     // Calls run but are not counted.
  absl::Duration duration = absl::Seconds(10);  // The measured interval.
  absl::Duration deadline = absl::Seconds(5);   // Per call.
  int cpu_of_pid = 0;  // When > 0, report this process's CPU use over the measured interval.
};

// What happened in the measured interval.
struct LoadResult {
  int64_t calls = 0;                     // Calls completed, whatever their status.
  std::array<int64_t, 17> by_code = {};  // Calls per grpc::StatusCode (0 = OK).
  Histogram latency_ns;     // Start (open loop: when due) to completion, OK calls only.
  absl::Duration measured;  // The measured interval's length (each_once: first call to last reply).
  int64_t response_bytes = 0;   // Size of the last OK response.
  int64_t invalid_answers = 0;  // check_valid: OK replies saying valid=false.
  // Open loop: calls due in the measured interval while every slot was busy, so started late, or
  // not at all when the interval ended first.
  int64_t slot_waits = 0;
  int threads = 0;  // Client threads used: min(LoadOptions::threads, concurrency).
  std::optional<absl::Duration> server_cpu;  // When LoadOptions::cpu_of_pid was set.
  std::optional<absl::Duration> client_cpu;  // This process; empty if /proc is unreadable.

  int64_t ok() const { return by_code[0]; }
};

// Connects every channel (FAILED_PRECONDITION if one is not ready within 10 s), runs
// the warm-up and the measured interval, waits for the calls still outstanding, and returns
// the counts. Call errors are counted, not returned.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

// The canonical name of a gRPC status code ("OK", "UNAVAILABLE", ...).
const char* StatusCodeName(int code);

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_LOAD_GENERATOR_H_
