// Renders a LoadResult for people (a summary) and for scripts (one JSON line).
#ifndef TOKEND_TESTS_BENCH_LOAD_REPORT_H_
#define TOKEND_TESTS_BENCH_LOAD_REPORT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tests/bench/load_generator.h"

namespace tokend::bench {

// A few lines: the setup, calls and errors by code, QPS, latency percentiles and, when known,
// the server's and the client's CPU use. `method` is the --method name.
std::string Summary(absl::string_view method, const LoadOptions& options, const LoadResult& result);

// One JSON object without a newline: method, target, concurrency, channels, threads,
// duration_s, calls, errors ({"CODE": n}), qps (OK calls per second), p50_us, p90_us, p99_us,
// p999_us, server_cpu_us_per_call, client_cpu_us_per_call and client_cpu_util (null when
// unknown).
std::string JsonLine(absl::string_view method, const LoadOptions& options,
                     const LoadResult& result);

// A warning when the client used at least 80% of the CPUs it may run on, which means the run
// may have measured the client rather than the server; empty otherwise.
std::optional<std::string> ClientBusyWarning(const LoadResult& result);

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_LOAD_REPORT_H_
