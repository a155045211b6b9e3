// trelink-linker: serves LinkageService.
//
//   trelink-linker --config linker.textproto
#include "common/access/access_policy.h"
#include "common/catalogue/catalogue.h"
#include "common/config/text_config.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "common/status/status_macros.h"
#include "common/store/open_linked_store.h"
#include "services/linker/linkage_service.h"


namespace trelink {
namespace {

absl::Status Serve(const std::string& config_path) {
  trelink::v1::LinkerConfig config;
  TRELINK_RETURN_IF_ERROR(LoadServiceConfig(config_path, config));
  for (const auto& [field, value] : {std::pair{"linker_key_file", config.linker_key_file()},
                                     std::pair{"catalogue_file", config.catalogue_file()}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  TRELINK_ASSIGN_OR_RETURN(LinkerKeyPair keys, LinkerKeyPair::Load(config.linker_key_file()));
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(config.catalogue_file()));
  TRELINK_ASSIGN_OR_RETURN(LinkageOptions options, LinkageOptions::FromPolicy(config.linkage()));
  options.AddCatalogueConstraints(catalogue.proto());
  TRELINK_ASSIGN_OR_RETURN(AccessPolicy access, AccessPolicy::Create(config.server().access()));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<LinkedStore> store,
                           OpenLinkedStore(config.database_file(), config.database_url(), Clock::System()));
  const uint32_t max_records = config.max_records_per_batch() != 0 ? config.max_records_per_batch() : 10000;
  const uint32_t threshold = config.disclosure_threshold() != 0 ? config.disclosure_threshold() : 10;
  BatchIngester ingester(catalogue, keys, *store, max_records);
  LinkageHandler handler(access, catalogue, ingester, LinkageRunContext{store.get(), &Clock::System(), nullptr, threshold},
                         options);
  LinkageServiceImpl service(handler);
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ServiceHost> host,
                           ServiceHost::Start("trelink-linker", config.server(), {&service}));
  return ServeUntilSignal(*host, absl::StrCat("serving; linker key ", keys.public_key().Fingerprint(), ", ",
                                              catalogue.proto().datasets_size(), " datasets in the catalogue"));
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  return trelink::RunServiceMain(argc, argv, "trelink-linker",
                                 "Serves trelink.v1.LinkageService. Usage: trelink-linker --config FILE",
                                 trelink::Serve);
}
