#include "common/server/service_main.h"

#include <sys/stat.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/flags_help.h"

ABSL_FLAG(std::string, config, "", "the service's configuration, protobuf text format");

namespace trelink {

int RunServiceMain(int argc, char** argv, const std::string& program, const std::string& usage,
                   const std::function<absl::Status(const std::string& config_path)>& serve) {
  // Everything a service writes (stores, the disclosure log and its release
  // history, port files) is for its own account only.
  umask(077);
  BlockShutdownSignals();
  SetLogProgram(program);
  ListOwnFlagsInHelp();
  absl::SetProgramUsageMessage(usage);
  absl::ParseCommandLine(argc, argv);
  const std::string config = absl::GetFlag(FLAGS_config);
  if (config.empty()) {
    LogError("--config is required");
    return 2;
  }
  absl::Status status = serve(config);
  if (!status.ok()) {
    LogError(status.ToString());
    return 1;
  }
  return 0;
}

absl::Status ServeUntilSignal(ServiceHost& host, const std::string& ready_message) {
  LogInfo(ready_message);
  LogInfo(absl::StrCat("received ", WaitForShutdownSignal(), "; shutting down"));
  host.Shutdown(absl::Seconds(10));
  LogInfo("stopped");
  return absl::OkStatus();
}

}  // namespace trelink
