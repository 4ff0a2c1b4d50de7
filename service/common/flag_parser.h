// A small command-line parser shared by tokend and tokenctl. Flags are spelled as the
// specification writes them (`--clock-skew 5m` or `--clock-skew=5m`), each may have a
// TOKEND_* environment variable, and the command line wins over the environment, which wins
// over the default. Errors name the flag. Thread-compatible.
#ifndef TOKEND_SERVICE_COMMON_FLAG_PARSER_H_
#define TOKEND_SERVICE_COMMON_FLAG_PARSER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

struct FlagSpec {
  std::string name;           // Without the leading "--", e.g. "clock-skew".
  std::string value_name;     // Shown in --help, e.g. "DURATION"; empty for a boolean flag.
  std::string help;           // One or two sentences.
  std::string default_value;  // Used when neither the command line nor the environment sets it.
  std::string env;            // Environment variable, e.g. "TOKEND_CLOCK_SKEW"; may be empty.
  bool repeated = false;      // May be given several times; all values are kept.
};

// Looks up an environment variable; returns nullptr when unset. Injected so tests need no
// process environment.
using EnvLookup = std::function<const char*(const char*)>;

// The values of one parse.
class FlagValues {
 public:
  // The value of a flag: the last one given on the command line, else the environment's, else
  // the default. REQUIRES: `name` is a declared flag.
  const std::string& Get(absl::string_view name) const;
  // Every value of a repeated flag, in order (command line, else environment, else default).
  const std::vector<std::string>& GetAll(absl::string_view name) const;
  // A boolean flag: true iff given (or its environment variable is "1" or "true").
  bool GetBool(absl::string_view name) const;
  // Where the value came from, for error messages: "--name" or "TOKEND_NAME (environment)".
  std::string Origin(absl::string_view name) const;

  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  friend class FlagParser;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> origins_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

class FlagParser {
 public:
  explicit FlagParser(std::vector<FlagSpec> specs) : specs_(std::move(specs)) {}

  // Parses `args` (without the program name). `--help` or `-h` sets help(). With
  // `stop_at_positional`, the first non-flag argument and everything after it are returned as
  // positional (for "tokenctl [flags] COMMAND [command flags]"); otherwise positional arguments
  // are an error. INVALID_ARGUMENT names the flag for an unknown flag, a missing value, a value
  // given to a boolean flag, or a bad boolean in the environment.
  absl::StatusOr<FlagValues> Parse(const std::vector<std::string>& args, const EnvLookup& env,
                                   bool stop_at_positional = false) const;

  // The flags section of --help: one entry per flag with its value name, default, variable.
  std::string Usage() const;

 private:
  const FlagSpec* Find(absl::string_view name) const;

  const std::vector<FlagSpec> specs_;
};

// Splits a comma-separated list, trimming spaces and dropping empty entries.
std::vector<std::string> SplitList(absl::string_view list);

}  // namespace tokend

#endif  // TOKEND_SERVICE_COMMON_FLAG_PARSER_H_
