// The boring main() every trelink service shares: set umask 077, block
// shutdown signals before any thread starts, parse --config, run the
// service, log the outcome and map it to an exit code (2: usage, 1: failure,
// 0: clean stop).
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/server/service_host.h"

namespace trelink {

// `serve` loads the config at the given path, starts its ServiceHost and
// returns it through ServeUntilSignal.
int RunServiceMain(int argc, char** argv, const std::string& program, const std::string& usage,
                   const std::function<absl::Status(const std::string& config_path)>& serve);

// Logs that the service is up, waits for SIGTERM or SIGINT, then drains
// calls in flight (up to 10 s) and stops.
absl::Status ServeUntilSignal(ServiceHost& host, const std::string& ready_message);

}  // namespace trelink
