// tokend-loadgen: a load generator for tokend (or any gRPC server with the same methods), closed
// loop by default, open loop at a fixed rate with --rate. Prints a human summary and, last, one
// JSON line; see tests/bench/README.md.
// Exit codes: 0 the run completed (call errors are reported, not fatal), 1 the target could not
// be reached, 2 bad flags.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "service/common/flag_parser.h"
#include "tests/bench/bench_request.h"
#include "tests/bench/load_generator.h"
#include "tests/bench/load_report.h"
#include "tests/bench/process_cpu.h"

namespace tokend::bench {
namespace {

struct Flags {
  LoadOptions load;
  std::string method;
  std::string request_json;
  bool json_only = false;
};

FlagParser MakeFlagParser() {
  auto flag = [](const char* name, const char* value_name, std::string help,
                 const char* default_value) {
    return FlagSpec{name, value_name, std::move(help), default_value, "", false};
  };
  return FlagParser({
      flag("target", "ADDRESS", "Server to call: unix:///PATH or HOST:PORT. Required.", ""),
      flag("method", "NAME", absl::StrCat("RPC to call: ", MethodNames(), "."), "GetToken"),
      flag("request", "JSON",
           "The request message in proto JSON, e.g. '{\"scopes\":[\"api://x/.default\"]}'. "
           "Default: a realistic request for --method.",
           ""),
      flag("requests-file", "FILE",
           "Requests in proto JSON, one per line, sent in turn (instead of --request).", ""),
      flag("each-once", "",
           "Send each request of --requests-file exactly once, with no warm-up, and stop when "
           "the last reply arrives (--duration caps the run).",
           ""),
      flag("check-valid", "", "ValidateToken: read every reply and count those saying valid=false.",
           ""),
      flag("concurrency", "N",
           "Calls outstanding at any time (closed loop); with --rate, the most outstanding.", "16"),
      flag("rate", "QPS",
           "Open loop: start this many calls per second in all, on a fixed schedule whatever the "
           "replies do; latency is measured from when each call was due. Default: closed loop.",
           ""),
      flag("channels", "N", "Channels (one connection each) the calls are spread over.", "1"),
      flag("threads", "N",
           "Client threads, one completion queue each. Default: 2, or 1 when this process may "
           "run on one CPU only (two threads on one CPU cost more per call).",
           ""),
      flag("duration", "DURATION", "Length of the measured interval, e.g. 10s.", "10s"),
      flag("warmup", "DURATION", "Calls made before measuring starts; not counted.", "2s"),
      flag("deadline", "DURATION", "Deadline of each call.", "5s"),
      flag("cpu-of-pid", "PID",
           "Also report the CPU time this process (the server) used in the measured interval.", ""),
      flag("json-only", "", "Print only the JSON line.", ""),
  });
}

absl::Status ParseInt(const FlagValues& values, const char* name, int min, int max, int* out) {
  const std::string& text = values.Get(name);
  if (!absl::SimpleAtoi(text, out) || *out < min || *out > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": \"", text, "\" is not a whole number from ", min, " to ", max));
  }
  return absl::OkStatus();
}

absl::Status ParseDuration(const FlagValues& values, const char* name, bool allow_zero,
                           absl::Duration* out) {
  const std::string& text = values.Get(name);
  if (!absl::ParseDuration(text, out) || *out < absl::ZeroDuration() ||
      *out == absl::InfiniteDuration() || (!allow_zero && *out == absl::ZeroDuration())) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": \"", text, "\" is not a ",
                                                   allow_zero ? "" : "positive ",
                                                   "duration such as 10s or 500ms"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Flags> ParseFlags(const FlagValues& values) {
  Flags flags;
  flags.load.target = values.Get("target");
  if (flags.load.target.empty()) {
    return absl::InvalidArgumentError("--target: required (unix:///PATH or HOST:PORT)");
  }
  flags.method = values.Get("method");
  flags.request_json = values.Get("request");
  flags.json_only = values.GetBool("json-only");
  absl::Status status = ParseInt(values, "concurrency", 1, 100000, &flags.load.concurrency);
  flags.load.threads = std::min(2, AllowedCpuCount());
  if (status.ok() && !values.Get("threads").empty()) {
    status = ParseInt(values, "threads", 1, 64, &flags.load.threads);
  }
  if (status.ok()) status = ParseInt(values, "channels", 1, 100000, &flags.load.channels);
  if (status.ok() && flags.load.channels > flags.load.concurrency) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--channels: ", flags.load.channels, " is more than --concurrency (",
                     flags.load.concurrency, "); a channel without calls would only idle"));
  }
  if (status.ok() && !values.Get("rate").empty()) {
    const std::string& text = values.Get("rate");
    if (!absl::SimpleAtod(text, &flags.load.rate) || !(flags.load.rate > 0) ||
        flags.load.rate > 1e7) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "--rate: \"", text, "\" is not a number of calls per second above 0, at most 1e7"));
    }
  }
  if (status.ok()) status = ParseDuration(values, "duration", false, &flags.load.duration);
  if (status.ok()) status = ParseDuration(values, "warmup", true, &flags.load.warmup);
  if (status.ok()) status = ParseDuration(values, "deadline", false, &flags.load.deadline);
  if (status.ok() && !values.Get("cpu-of-pid").empty()) {
    status = ParseInt(values, "cpu-of-pid", 1, 1 << 30, &flags.load.cpu_of_pid);
    if (status.ok() && !ProcessCpuTime(flags.load.cpu_of_pid).ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat("--cpu-of-pid: no readable /proc/", flags.load.cpu_of_pid, "/stat"));
    }
  }
  if (!status.ok()) return status;
  flags.load.each_once = values.GetBool("each-once");
  flags.load.check_valid = values.GetBool("check-valid");
  if (flags.load.check_valid && flags.method != "ValidateToken") {
    return absl::InvalidArgumentError("--check-valid: only for --method ValidateToken");
  }
  const std::string& requests_file = values.Get("requests-file");
  if (requests_file.empty()) {
    if (flags.load.each_once)
      return absl::InvalidArgumentError("--each-once needs --requests-file");
    absl::StatusOr<BenchRequest> request = MakeBenchRequest(flags.method, flags.request_json);
    if (!request.ok()) return request.status();
    flags.load.method_path = request->method_path;
    flags.load.requests.push_back(std::move(request->bytes));
    return flags;
  }
  if (!flags.request_json.empty()) {
    return absl::InvalidArgumentError("--request and --requests-file: give one of them");
  }
  std::ifstream in(requests_file);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("--requests-file: cannot read ", requests_file));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    absl::StatusOr<BenchRequest> request = MakeBenchRequest(flags.method, line);
    if (!request.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--requests-file: line ", number, ": ", request.status().message()));
    }
    flags.load.method_path = request->method_path;
    flags.load.requests.push_back(std::move(request->bytes));
  }
  if (flags.load.requests.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--requests-file: ", requests_file, " holds no request"));
  }
  return flags;
}

// The open loop's lines of the summary; empty in a closed loop.
std::string OpenLoopSummary(const LoadOptions& options, const LoadResult& result) {
  if (options.rate <= 0) return "";
  return absl::StrCat("  open loop  ", options.rate, " calls/s scheduled; ", result.slot_waits,
                      " due while all ", options.concurrency, " slots were busy\n");
}

// JsonLine() with the open loop's figures after "qps": "rate" (calls scheduled per second) and
// "slot_waits"; both null in a closed loop.
std::string JsonLineWithRate(const std::string& method, const LoadOptions& options,
                             const LoadResult& result) {
  const nlohmann::ordered_json line =
      nlohmann::ordered_json::parse(JsonLine(method, options, result));
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& item : line.items()) {
    out[item.key()] = item.value();
    if (item.key() != "qps") continue;
    const bool open = options.rate > 0;
    out["rate"] = open ? nlohmann::ordered_json(options.rate) : nlohmann::ordered_json();
    out["slot_waits"] = open ? nlohmann::ordered_json(result.slot_waits) : nlohmann::ordered_json();
  }
  return out.dump();
}

int Main(int argc, char** argv) {
  // Debian builds abseil without NDEBUG, which leaves Mutex deadlock detection on inside gRPC
  // (a few percent of CPU). Off in the client only; the no-op server keeps it, as tokend does.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const FlagParser parser = MakeFlagParser();
  absl::StatusOr<FlagValues> values =
      parser.Parse(std::vector<std::string>(argv + 1, argv + argc), nullptr);
  if (values.ok() && values->help()) {
    std::cout << "Usage: tokend-loadgen --target ADDRESS [flags]\n\n" << parser.Usage();
    return 0;
  }
  absl::StatusOr<Flags> flags =
      values.ok() ? ParseFlags(*values) : absl::StatusOr<Flags>(values.status());
  if (!flags.ok()) {
    std::cerr << "tokend-loadgen: " << flags.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<LoadResult> result = RunLoad(flags->load);
  if (!result.ok()) {
    std::cerr << "tokend-loadgen: " << result.status().message() << "\n";
    return 1;
  }
  if (!flags->json_only) {
    std::cout << Summary(flags->method, flags->load, *result)
              << OpenLoopSummary(flags->load, *result);
  }
  if (std::optional<std::string> warning = ClientBusyWarning(*result)) {
    std::cerr << "tokend-loadgen: " << *warning << "\n";
  }
  std::cout << JsonLineWithRate(flags->method, flags->load, *result) << std::endl;
  return 0;
}

}  // namespace
}  // namespace tokend::bench

int main(int argc, char** argv) { return tokend::bench::Main(argc, argv); }
