#include "service/common/logging.h"

#include <atomic>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

absl::Mutex g_out_mu;
std::ostream* g_out ABSL_GUARDED_BY(g_out_mu) = nullptr;

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("must be one of debug, info, warning, error");
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

void SetLogOutput(std::ostream* out) {
  absl::MutexLock lock(&g_out_mu);
  g_out = out;
}

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  nlohmann::ordered_json event;
  event["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  event["level"] = std::string(LogLevelName(level));
  event["msg"] = std::string(msg);
  for (const LogField& field : fields) {
    std::string key(field.key);
    std::visit([&](const auto& v) { event[key] = v; }, field.value);
  }
  // Invalid UTF-8 in a field is replaced rather than throwing.
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  absl::MutexLock lock(&g_out_mu);
  std::ostream& out = g_out != nullptr ? *g_out : std::cerr;
  out << line;
  out.flush();
}

}  // namespace tokend
