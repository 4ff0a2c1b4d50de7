// Structured logging: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-29T04:50:00.123Z","level":"info","msg":"listening","address":"127.0.0.1:50051"}
// Thread-safe. Callers pass identifiers only (credential names, tenants, kids, AADSTS codes);
// never a secret or a token: there is no overload that takes a SecretString.
#ifndef TOKEND_SERVICE_COMMON_LOGGING_H_
#define TOKEND_SERVICE_COMMON_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" (or "warn"), "error".
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
absl::string_view LogLevelName(LogLevel level);

// One field of a log event: a name and a string, integer, or boolean value.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v) : key(k), value(v) {}
  LogField(absl::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(absl::string_view k, bool v) : key(k), value(v) {}
  absl::string_view key;
  std::variant<std::string, int64_t, bool> value;
};

// Events below `level` are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);
// Redirects output (tests). `out` must outlive all logging; nullptr restores stderr.
void SetLogOutput(std::ostream* out);

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogDebug(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarning(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, msg, fields);
}
inline void LogError(absl::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

}  // namespace tokend

#endif  // TOKEND_SERVICE_COMMON_LOGGING_H_
