// trelink-aggregator: serves AggregateService and AuditService.
//
//   trelink-aggregator --config aggregator.textproto
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/config/text_config.h"
#include "common/log/log.h"
#include "common/sdc/stored_release_history.h"
#include "common/server/service_host.h"
#include "common/status/status_macros.h"
#include "common/store/sqlite_linked_store.h"
#include "services/aggregator/aggregate_service.h"

ABSL_FLAG(std::string, config, "", "AggregatorConfig in protobuf text format");

namespace trelink {
namespace {

absl::Status Serve(const std::string& config_path) {
  trelink::v1::AggregatorConfig config;
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(config_path, config));
  for (const auto& [field, value] : {std::pair{"catalogue_file", config.catalogue_file()},
                                     std::pair{"database_file", config.database_file()},
                                     std::pair{"log_file", config.log_file()},
                                     std::pair{"log_signing_key_file", config.log_signing_key_file()}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(config.catalogue_file()));
  TRELINK_ASSIGN_OR_RETURN(AccessPolicy access, AccessPolicy::Create(config.server().access()));
  const std::string history_file = config.release_history_file().empty()
                                       ? config.log_file() + ".releases"
                                       : config.release_history_file();
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<StoredReleaseHistory> history, StoredReleaseHistory::Open(history_file));
  absl::StatusOr<std::unique_ptr<DisclosureControl>> control = DisclosureControl::Create(config.policy(), *history);
  if (!control.ok()) return absl::InvalidArgumentError(absl::StrCat("policy: ", control.status().message()));
  TRELINK_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::Load(config.log_signing_key_file()));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<DisclosureLog> log, DisclosureLog::Open(config.log_file(), std::move(signer)));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteLinkedStore> store,
                           SqliteLinkedStore::Open(config.database_file(), Clock::System()));
  AggregateContext context{&access, &catalogue, store.get(), control->get(), log.get(), &Clock::System()};
  if (config.refresh_seconds() != 0) context.refresh_interval = absl::Seconds(config.refresh_seconds());
  AggregateHandler handler(context);
  AggregateServiceImpl aggregate(handler);
  AuditServiceImpl audit(handler);
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ServiceHost> host,
                           ServiceHost::Start("trelink-aggregator", config.server(), {&aggregate, &audit}));
  LogInfo(absl::StrCat("serving; policy ", (*control)->policy().version(), " (k=", (*control)->policy().threshold(),
                       ", base ", (*control)->policy().rounding_base(), "); disclosure log at ", log->size(),
                       " entries; ", history->size(), " released populations remembered"));
  LogInfo(absl::StrCat("received ", WaitForShutdownSignal(), "; shutting down"));
  host->Shutdown(absl::Seconds(10));
  LogInfo("stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::BlockShutdownSignals();
  trelink::SetLogProgram("trelink-aggregator");
  absl::SetProgramUsageMessage("Serves trelink.v1.AggregateService and AuditService. Usage: trelink-aggregator --config FILE");
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
