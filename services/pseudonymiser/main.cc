// trelink-pseudonymiser: serves PseudonymService.
//
//   trelink-pseudonymiser --config pseudonymiser.textproto
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/access/access_policy.h"
#include "common/config/text_config.h"
#include "common/log/log.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/server/service_host.h"
#include "common/status/status_macros.h"
#include "services/pseudonymiser/pseudonym_service.h"

ABSL_FLAG(std::string, config, "", "PseudonymiserConfig in protobuf text format");

namespace trelink {
namespace {

absl::Status Serve(const std::string& config_path) {
  trelink::v1::PseudonymiserConfig config;
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(config_path, config));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<Pseudonymiser> pseudonymiser,
                           Pseudonymiser::FromConfig(config, Clock::System()));
  TRELINK_ASSIGN_OR_RETURN(AccessPolicy access, AccessPolicy::Create(config.server().access()));
  PseudonymHandler handler(*pseudonymiser, access);
  PseudonymServiceImpl service(handler);
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ServiceHost> host,
                           ServiceHost::Start("trelink-pseudonymiser", config.server(), {&service}));
  const trelink::v1::GetKeyInfoResponse keys = pseudonymiser->KeyInfo();
  LogInfo(absl::StrCat("serving with ", keys.versions_size(), " master key version(s), ", keys.key_names_size(),
                       " keys per participant, sealing for linker key ", keys.linker_key_fingerprint()));
  LogInfo(absl::StrCat("received ", WaitForShutdownSignal(), "; shutting down"));
  host->Shutdown(absl::Seconds(10));
  LogInfo("stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::BlockShutdownSignals();
  trelink::SetLogProgram("trelink-pseudonymiser");
  absl::SetProgramUsageMessage("Serves trelink.v1.PseudonymService. Usage: trelink-pseudonymiser --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string config = absl::GetFlag(FLAGS_config);
  if (config.empty()) {
    trelink::LogError("--config is required");
    return 2;
  }
  absl::Status status = trelink::Serve(config);
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    return 1;
  }
  return 0;
}
