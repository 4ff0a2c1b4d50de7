// Process: a child program for integration tests (tokend, tokenctl, the development identity
// provider), with stdout and stderr captured to files. Not thread-safe.
#ifndef TOKEND_TESTS_INTEGRATION_PROCESS_H_
#define TOKEND_TESTS_INTEGRATION_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokend {
namespace testing {

class Process {
 public:
  // Starts argv[0] with the given arguments and the test's environment plus `env`
  // ("NAME=value" entries). Output goes to files in `output_dir`.
  static absl::StatusOr<std::unique_ptr<Process>> Start(const std::vector<std::string>& argv,
                                                        const std::string& output_dir,
                                                        const std::vector<std::string>& env = {});
  ~Process();  // SIGKILLs the process if it is still running.

  pid_t pid() const { return pid_; }
  void Signal(int signal_number) const;

  // Waits for the process to exit; returns its exit code, or 128 + signal if a signal ended it.
  // DEADLINE_EXCEEDED if it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Polls stderr until it contains `text` (at least `occurrences` times); false if the process
  // exits or `timeout` passes first.
  bool WaitForStderr(absl::string_view text, absl::Duration timeout, int occurrences = 1);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  Process(pid_t pid, std::string out, std::string err)
      : pid_(pid), stdout_path_(std::move(out)), stderr_path_(std::move(err)) {}

  pid_t pid_;
  bool exited_ = false;
  int exit_code_ = 0;
  const std::string stdout_path_;
  const std::string stderr_path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion (at most `timeout`) and returns its exit code and output.
RunResult Run(const std::vector<std::string>& argv, const std::string& output_dir,
              absl::Duration timeout = absl::Seconds(30));

}  // namespace testing
}  // namespace tokend

#endif  // TOKEND_TESTS_INTEGRATION_PROCESS_H_
