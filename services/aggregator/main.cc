// trelink-aggregator: serves AggregateService and AuditService.
//
//   trelink-aggregator --config aggregator.textproto
#include <atomic>

#include "common/config/text_config.h"
#include "common/log/log.h"
#include "common/sdc/stored_release_history.h"
#include "common/server/service_main.h"
#include "common/status/status_macros.h"
#include "common/store/open_linked_store.h"
#include "services/aggregator/aggregate_service.h"


namespace trelink {
namespace {

// Count evaluates a query and fsyncs the log: 60 at once covers a batch of
// scripted queries, 10 a second an interactive analyst, and neither lets one
// certificate starve the others or fill the log.
trelink::v1::RateLimit DefaultCountRateLimit() {
  trelink::v1::RateLimit limit;
  limit.set_burst(60);
  limit.set_per_second(10);
  return limit;
}

absl::Status Serve(const std::string& config_path) {
  trelink::v1::AggregatorConfig config;
  TRELINK_RETURN_IF_ERROR(LoadServiceConfig(config_path, config));
  for (const auto& [field, value] : {std::pair{"catalogue_file", config.catalogue_file()},
                                     std::pair{"log_file", config.log_file()},
                                     std::pair{"log_signing_key_file", config.log_signing_key_file()}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  if (config.projects().empty()) return absl::InvalidArgumentError("projects: at least one project (or \"*\")");
  for (int i = 0; i < config.projects_size(); ++i) {
    if (config.projects(i).empty()) return absl::InvalidArgumentError(absl::StrCat("projects[", i, "]: empty"));
  }
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<CallRateLimit> count_limit,
                           CallRateLimit::Create(config.count_rate_limit(), DefaultCountRateLimit(),
                                                 "count_rate_limit", "Count", Clock::System()));
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(config.catalogue_file()));
  TRELINK_ASSIGN_OR_RETURN(AccessPolicy access, AccessPolicy::Create(config.server().access()));
  const std::string history_file = config.release_history_file().empty()
                                       ? config.log_file() + ".releases"
                                       : config.release_history_file();
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<StoredReleaseHistory> history, StoredReleaseHistory::Open(history_file));
  TRELINK_ASSIGN_OR_RETURN(SodiumRandom noise, SodiumRandom::Create());
  absl::StatusOr<std::unique_ptr<DisclosureControl>> control = DisclosureControl::Create(config.policy(), *history, &noise);
  if (!control.ok()) return absl::InvalidArgumentError(absl::StrCat("policy: ", control.status().message()));
  std::vector<std::unique_ptr<DisclosureControl>> project_controls;
  std::map<std::string, DisclosureControl*> by_project;
  for (const auto& [project, policy] : config.project_policies()) {
    absl::StatusOr<std::unique_ptr<DisclosureControl>> own = DisclosureControl::Create(policy, *history, &noise);
    if (!own.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("project_policies[\"", project, "\"]: ", own.status().message()));
    }
    by_project[project] = own->get();
    project_controls.push_back(*std::move(own));
  }
  TRELINK_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::Load(config.log_signing_key_file()));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<DisclosureLog> log, DisclosureLog::Open(config.log_file(), std::move(signer)));
  PrivacyLedger ledger;
  TRELINK_RETURN_IF_ERROR(LoadLedger(*log, ledger));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<LinkedStore> store,
                           OpenLinkedStore(config.database_file(), config.database_url(), Clock::System()));
  AggregateContext context{&access, &catalogue, store.get(), control->get(), log.get(), &Clock::System(),
                           {config.projects().begin(), config.projects().end()}};
  context.project_controls = by_project;
  context.ledger = &ledger;
  if (config.refresh_seconds() != 0) context.refresh_interval = absl::Seconds(config.refresh_seconds());
  // Set as soon as the host is up (calls, and so a lost log, need the host).
  std::atomic<ServiceHost*> serving_host{nullptr};
  context.log_lost = [&serving_host](absl::string_view reason) {
    if (ServiceHost* host = serving_host.load(); host != nullptr) {
      host->SetNotServing(trelink::v1::AggregateService::service_full_name(), reason);
    }
  };
  AggregateHandler handler(context);
  AggregateServiceImpl aggregate(handler, *count_limit);
  AuditServiceImpl audit(handler);
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ServiceHost> host,
                           ServiceHost::Start("trelink-aggregator", config.server(), {&aggregate, &audit}));
  serving_host.store(host.get());
  return ServeUntilSignal(
      *host, absl::StrCat("serving; policy ", (*control)->policy().version(), " (k=", (*control)->policy().threshold(),
                          ", base ", (*control)->policy().rounding_base(), "; ", project_controls.size(),
                          " projects with their own policy); disclosure log at ", log->size(), " entries"));
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  return trelink::RunServiceMain(argc, argv, "trelink-aggregator",
                                 "Serves trelink.v1.AggregateService and AuditService. Usage: trelink-aggregator --config FILE",
                                 trelink::Serve);
}
