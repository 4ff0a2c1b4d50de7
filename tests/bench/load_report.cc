#include "tests/bench/load_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tests/bench/process_cpu.h"

namespace tokend::bench {
namespace {

constexpr double kClientBusy = 0.8;

// Rounds to `digits` decimal places; dividing by a power of ten makes 12.3 print as 12.3.
double Round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}
double Micros(int64_t nanos) { return Round(static_cast<double>(nanos) / 1000, 1); }

double Seconds(const LoadResult& result) { return absl::ToDoubleSeconds(result.measured); }
double Qps(const LoadResult& result) { return static_cast<double>(result.ok()) / Seconds(result); }

// The share of the CPUs the client may run on that it used, 0..1; empty if unknown.
std::optional<double> ClientCpuUtil(const LoadResult& result) {
  if (!result.client_cpu) return std::nullopt;
  return absl::FDivDuration(*result.client_cpu, result.measured) / AllowedCpuCount();
}

// CPU microseconds per completed call; empty if unknown.
std::optional<double> MicrosPerCall(const std::optional<absl::Duration>& cpu,
                                    const LoadResult& result) {
  if (!cpu || result.calls == 0) return std::nullopt;
  return absl::ToDoubleMicroseconds(*cpu) / static_cast<double>(result.calls);
}

nlohmann::json OrNull(const std::optional<double>& value, int digits) {
  if (!value) return nullptr;
  return Round(*value, digits);
}

}  // namespace

std::string Summary(absl::string_view method, const LoadOptions& options,
                    const LoadResult& result) {
  const Histogram& latency = result.latency_ns;
  std::string out = absl::StrFormat(
      "%s on %s: concurrency %d, %d channel(s), %d thread(s), %.1f s measured\n", method,
      options.target, options.concurrency, options.channels, result.threads, Seconds(result));
  absl::StrAppendFormat(&out, "  calls      %d (%d OK, response %d bytes)\n", result.calls,
                        result.ok(), result.response_bytes);
  for (size_t code = 1; code < result.by_code.size(); ++code) {
    if (result.by_code[code] == 0) continue;
    absl::StrAppendFormat(&out, "  errors     %s: %d\n", StatusCodeName(static_cast<int>(code)),
                          result.by_code[code]);
  }
  if (options.check_valid) {
    absl::StrAppendFormat(&out, "  invalid    %d answers said valid=false\n",
                          result.invalid_answers);
  }
  absl::StrAppendFormat(&out, "  qps        %.1f (OK calls)\n", Qps(result));
  absl::StrAppendFormat(
      &out,
      "  latency us min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
      latency.min() / 1e3, latency.ValueAtPercentile(50) / 1e3, latency.ValueAtPercentile(90) / 1e3,
      latency.ValueAtPercentile(99) / 1e3, latency.ValueAtPercentile(99.9) / 1e3,
      latency.max() / 1e3, latency.mean() / 1e3);
  auto cpu_line = [&](const char* who, const std::optional<absl::Duration>& cpu) {
    std::optional<double> per_call = MicrosPerCall(cpu, result);
    if (!per_call) return;
    absl::StrAppendFormat(&out, "  %s cpu %.2f s (%.0f%% of one CPU), %.1f us per call\n", who,
                          absl::ToDoubleSeconds(*cpu),
                          100 * absl::FDivDuration(*cpu, result.measured), *per_call);
  };
  cpu_line("server", result.server_cpu);
  cpu_line("client", result.client_cpu);
  return out;
}

std::string JsonLine(absl::string_view method, const LoadOptions& options,
                     const LoadResult& result) {
  nlohmann::ordered_json errors = nlohmann::ordered_json::object();
  for (size_t code = 1; code < result.by_code.size(); ++code) {
    if (result.by_code[code] > 0) {
      errors[StatusCodeName(static_cast<int>(code))] = result.by_code[code];
    }
  }
  const Histogram& latency = result.latency_ns;
  const nlohmann::ordered_json line = {
      {"method", std::string(method)},
      {"target", options.target},
      {"concurrency", options.concurrency},
      {"channels", options.channels},
      {"threads", result.threads},
      {"duration_s", Round(Seconds(result), 1)},
      {"calls", result.calls},
      {"errors", errors},
      {"invalid_answers", options.check_valid ? nlohmann::ordered_json(result.invalid_answers)
                                              : nlohmann::ordered_json()},
      {"qps", Round(Qps(result), 1)},
      {"p50_us", Micros(latency.ValueAtPercentile(50))},
      {"p90_us", Micros(latency.ValueAtPercentile(90))},
      {"p99_us", Micros(latency.ValueAtPercentile(99))},
      {"p999_us", Micros(latency.ValueAtPercentile(99.9))},
      {"server_cpu_us_per_call", OrNull(MicrosPerCall(result.server_cpu, result), 1)},
      {"client_cpu_us_per_call", OrNull(MicrosPerCall(result.client_cpu, result), 1)},
      {"client_cpu_util", OrNull(ClientCpuUtil(result), 2)},
  };
  return line.dump();
}

std::optional<std::string> ClientBusyWarning(const LoadResult& result) {
  std::optional<double> util = ClientCpuUtil(result);
  if (!util || *util < kClientBusy) return std::nullopt;
  return absl::StrFormat(
      "warning: the client used %.0f%% of the %d CPU(s) it may run on; the figures may measure "
      "the client, not the server (give it more CPUs or fewer --threads)",
      *util * 100, AllowedCpuCount());
}

}  // namespace tokend::bench
