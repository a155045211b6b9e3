// Issue 12, item 10: linked.db, the release history and the other files the
// services write were created 0644 under the usual umask. The real linker
// and aggregator now create everything 0600 whatever umask they inherit.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::IsOk;
using ::trelink::testing::ServiceProcess;

TEST(ServiceFileModesTest, StoresLogAndReleaseHistoryAreOwnerOnly) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir));
  const mode_t inherited = umask(022);  // what a login shell usually passes on
  auto linker = ServiceProcess::Start(BinaryDir() + "/trelink-linker", {"--config", "linker.textproto"}, dir);
  ASSERT_THAT(linker, IsOk());
  ASSERT_THAT(linker->WaitUntilServing("linker.port", "linkage-admin", absl::Seconds(30)), IsOk());
  auto aggregator = ServiceProcess::Start(BinaryDir() + "/trelink-aggregator", {"--config", "aggregator.textproto"}, dir);
  ASSERT_THAT(aggregator, IsOk());
  auto port = aggregator->WaitUntilServing("aggregator.port", "analyst", absl::Seconds(30));
  umask(inherited);
  ASSERT_THAT(port, IsOk());
  {  // a refusal (nothing linked yet) is logged, so the log and its checkpoint are written
    trelink::v1::CountQuery query;
    query.set_name("q");
    query.set_project("demo");
    trelink::v1::CountTable table;
    grpc::Status status = ::trelink::testing::Count(*port, "analyst", query, table);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  }
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!absl::StartsWith(name, "linked.db") && !absl::StartsWith(name, "disclosure.log") &&
        !absl::EndsWith(name, ".port")) {
      continue;  // written by the test or keygen
    }
    struct stat info;
    ASSERT_EQ(stat(entry.path().c_str(), &info), 0) << name;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << name;
    ++checked;
  }
  // linked.db (and its -wal), disclosure.log, its checkpoint and release
  // history, two port files.
  EXPECT_GE(checked, 6);
  EXPECT_EQ(aggregator->Stop().exit_code, 0);
  EXPECT_EQ(linker->Stop().exit_code, 0);
}

}  // namespace
}  // namespace trelink
