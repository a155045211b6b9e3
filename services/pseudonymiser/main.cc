// trelink-pseudonymiser: serves PseudonymService.
//
//   trelink-pseudonymiser --config pseudonymiser.textproto
#include <cstdio>

#include "common/access/access_policy.h"
#include "common/config/text_config.h"
#include "common/log/log.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/server/service_main.h"
#include "common/status/status_macros.h"
#include "services/pseudonymiser/pseudonym_service.h"


namespace trelink {
namespace {

absl::Status Serve(const std::string& config_path) {
  trelink::v1::PseudonymiserConfig config;
  TRELINK_RETURN_IF_ERROR(LoadServiceConfig(config_path, config));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<Pseudonymiser> pseudonymiser,
                           Pseudonymiser::FromConfig(config, Clock::System()));
  if (config.catalogue_file().empty()) return absl::InvalidArgumentError("catalogue_file: required");
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(config.catalogue_file()));
  TRELINK_ASSIGN_OR_RETURN(AccessPolicy access, AccessPolicy::Create(config.server().access()));
  PseudonymHandler handler(*pseudonymiser, access, catalogue);
  PseudonymServiceImpl service(handler);
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ServiceHost> host,
                           ServiceHost::Start("trelink-pseudonymiser", config.server(), {&service}));
  const trelink::v1::GetKeyInfoResponse keys = pseudonymiser->KeyInfo();
  return ServeUntilSignal(*host, absl::StrCat("serving with ", keys.versions_size(), " master key version(s), ",
                                              keys.key_names_size(), " keys per participant, sealing for linker key ",
                                              keys.linker_key_fingerprint()));
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  return trelink::RunServiceMain(argc, argv, "trelink-pseudonymiser",
                                 "Serves trelink.v1.PseudonymService. Usage: trelink-pseudonymiser --config FILE",
                                 trelink::Serve);
}
