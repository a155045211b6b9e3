// Starts a real trelink service binary for end-to-end tests: waits for its
// port file and for the health service to report SERVING (no sleeps), and
// stops it with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trelink::testing {

// The directory holding the built service binaries (TRELINK_BIN_DIR).
std::string BinaryDir();
// The directory of dev certificates made by deploy/dev-certs.sh (TRELINK_TEST_CERTS).
std::string CertDir();

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string stdout_text;
  std::string stderr_text;
};

class ServiceProcess {
 public:
  // Runs `binary args...` in `work_dir`, stdout and stderr to files there.
  static absl::StatusOr<ServiceProcess> Start(const std::string& binary, const std::vector<std::string>& args,
                                              const std::string& work_dir);
  ServiceProcess(ServiceProcess&& other) noexcept;
  ServiceProcess& operator=(ServiceProcess&&) = delete;
  ~ServiceProcess();

  // Waits for `port_file` to appear, then for health SERVING over mTLS with
  // the given client certificate name from CertDir().
  absl::StatusOr<int> WaitUntilServing(const std::string& port_file, const std::string& client_cert,
                                       absl::Duration timeout);
  // Sends SIGTERM and waits for exit.
  ProcessResult Stop();
  // Waits for the process to exit by itself (for start-up failures).
  ProcessResult WaitForExit(absl::Duration timeout);

 private:
  ServiceProcess(pid_t pid, std::string work_dir, std::string output)
      : pid_(pid), work_dir_(std::move(work_dir)), output_(std::move(output)) {}
  ProcessResult Collect(int status);
  pid_t pid_;
  std::string work_dir_;
  std::string output_;  // prefix of its stdout.txt and stderr.txt
};

// Runs a command to completion (for CLI tools).
ProcessResult RunCommand(const std::string& binary, const std::vector<std::string>& args, const std::string& work_dir);

}  // namespace trelink::testing
