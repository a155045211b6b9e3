// Service configs name files relative to the config file, not to the
// working directory of whoever starts the service.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <type_traits>
#include <vector>

#include "absl/strings/match.h"

#include "common/config/text_config.h"
#include "trelink/v1/config.pb.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::MakeTempDir;

constexpr char kAggregatorConfig[] = R"pb(
  server {
    listen_address: "127.0.0.1:7003"
    port_file: "aggregator.port"
    tls {
      certificate_file: "../certs/aggregator.pem"
      private_key_file: "/etc/trelink/tls/aggregator.key"
      client_ca_file: "./certs/../ca.pem"
    }
  }
  catalogue_file: "catalogue.textproto"
  database_file: "data/linked.db"
  log_file: "/var/lib/trelink-aggregator/disclosure.log"
  log_signing_key_file: "keys/log.key"
  projects: "demo"
)pb";

TEST(ServiceConfigPathsTest, RelativePathsResolveAgainstTheConfigFilesDirectory) {
  const std::string dir = MakeTempDir();
  std::ofstream(dir + "/aggregator.textproto") << kAggregatorConfig;
  trelink::v1::AggregatorConfig config;
  ASSERT_THAT(LoadServiceConfig(dir + "/aggregator.textproto", config), IsOk());
  const std::string parent = std::filesystem::path(dir).parent_path().string();
  EXPECT_EQ(config.server().port_file(), dir + "/aggregator.port");
  EXPECT_EQ(config.server().tls().certificate_file(), parent + "/certs/aggregator.pem");
  EXPECT_EQ(config.server().tls().client_ca_file(), dir + "/ca.pem");
  EXPECT_EQ(config.catalogue_file(), dir + "/catalogue.textproto");
  EXPECT_EQ(config.database_file(), dir + "/data/linked.db");
  EXPECT_EQ(config.log_signing_key_file(), dir + "/keys/log.key");
}

TEST(ServiceConfigPathsTest, AbsolutePathsUnsetFieldsAndOtherStringsStayAsWritten) {
  const std::string dir = MakeTempDir();
  std::ofstream(dir + "/aggregator.textproto") << kAggregatorConfig;
  trelink::v1::AggregatorConfig config;
  ASSERT_THAT(LoadServiceConfig(dir + "/aggregator.textproto", config), IsOk());
  EXPECT_EQ(config.server().tls().private_key_file(), "/etc/trelink/tls/aggregator.key");
  EXPECT_EQ(config.log_file(), "/var/lib/trelink-aggregator/disclosure.log");
  EXPECT_EQ(config.release_history_file(), "");  // unset: the service's default follows log_file
  EXPECT_EQ(config.server().listen_address(), "127.0.0.1:7003");
  EXPECT_EQ(config.projects(0), "demo");
}

TEST(ServiceConfigPathsTest, AConfigInTheWorkingDirectoryKeepsItsPathsAsWritten) {
  trelink::v1::LinkerConfig config;
  config.set_database_file("linked.db");
  config.mutable_server()->mutable_tls()->set_certificate_file("linker.pem");
  ResolveConfigPaths("", config);
  EXPECT_EQ(config.database_file(), "linked.db");
  EXPECT_EQ(config.server().tls().certificate_file(), "linker.pem");
  ResolveConfigPaths("run/config", config);
  EXPECT_EQ(config.database_file(), "run/config/linked.db");
  EXPECT_EQ(config.server().tls().certificate_file(), "run/config/linker.pem");
}

TEST(ServiceConfigPathsTest, ParseErrorsStillNameTheFileAndLine) {
  const std::string dir = MakeTempDir();
  std::ofstream(dir + "/linker.textproto") << "database_file: \"a\"\nno_such_field: 1\n";
  trelink::v1::LinkerConfig config;
  EXPECT_THAT(LoadServiceConfig(dir + "/linker.textproto", config),
              ::trelink::testing::StatusIs(absl::StatusCode::kInvalidArgument, dir + "/linker.textproto:2:"));
}

// The configs deploy/systemd/install.sh and the container use: they parse,
// listen on the fixed ports the units and compose.yaml expose, and every
// path is absolute, under /etc/trelink or the service's state directory.
template <typename Config>
void ExpectProductionConfig(const std::string& service, const std::string& port, const std::string& state_dir) {
  SCOPED_TRACE(service);
  Config config;
  const std::string path = std::string(TRELINK_SOURCE_DIR) + "/deploy/systemd/config/" + service + ".textproto";
  ASSERT_THAT(LoadTextConfig(path, config), IsOk());
  EXPECT_EQ(config.server().listen_address(), "0.0.0.0:" + port);
  EXPECT_TRUE(config.server().port_file().empty());
  std::vector<std::string> paths = {config.server().tls().certificate_file(), config.server().tls().private_key_file(),
                                    config.server().tls().client_ca_file(), config.catalogue_file()};
  if constexpr (std::is_same_v<Config, trelink::v1::AggregatorConfig>) {
    paths.insert(paths.end(), {config.database_file(), config.log_file(), config.log_signing_key_file(),
                               config.release_history_file()});
  } else if constexpr (std::is_same_v<Config, trelink::v1::LinkerConfig>) {
    paths.insert(paths.end(), {config.linker_key_file(), config.database_file()});
  } else {
    paths.insert(paths.end(), {config.master_key_file(), config.linker_public_key_file()});
  }
  for (const std::string& file : paths) {
    EXPECT_TRUE(absl::StartsWith(file, "/etc/trelink/") || absl::StartsWith(file, state_dir)) << file;
  }
}

TEST(ServiceConfigPathsTest, ProductionConfigsUseFixedPortsAndAbsolutePaths) {
  ExpectProductionConfig<trelink::v1::PseudonymiserConfig>("pseudonymiser", "7001", "/nonexistent/");
  ExpectProductionConfig<trelink::v1::LinkerConfig>("linker", "7002", "/var/lib/trelink-linker/");
  ExpectProductionConfig<trelink::v1::AggregatorConfig>("aggregator", "7003", "/var/lib/trelink-");
}

}  // namespace
}  // namespace trelink
