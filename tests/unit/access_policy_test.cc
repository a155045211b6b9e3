#include "common/access/access_policy.h"

#include <gtest/gtest.h>

#include "common/config/text_config.h"
#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;
using trelink::v1::Role;

AccessPolicy Policy() {
  trelink::v1::AccessPolicy config;
  EXPECT_THAT(ParseTextConfig(R"pb(
                principals { identity: "provider.maternity" role: PROVIDER projects: "demo" datasets: "maternity" }
                principals { identity: "provider.any" role: PROVIDER projects: "demo" datasets: "*" }
                principals { identity: "linkage-admin" role: LINKAGE_ADMIN projects: "*" }
                principals { identity: "analyst" role: ANALYST projects: "demo" projects: "pilot" }
                principals { identity: "auditor.demo" role: AUDITOR projects: "demo" }
                principals { identity: "auditor.all" role: AUDITOR projects: "*" }
              )pb",
                              "test", config),
              IsOk());
  auto policy = AccessPolicy::Create(config);
  EXPECT_THAT(policy, IsOk());
  return *std::move(policy);
}

TEST(AccessPolicyTest, RoleAndProjectMustBothMatch) {
  AccessPolicy policy = Policy();
  auto caller = policy.Authorize("provider.maternity", {trelink::v1::PROVIDER}, "demo", "Pseudonymise");
  ASSERT_THAT(caller, IsOk());
  EXPECT_EQ(caller->role, trelink::v1::PROVIDER);
  EXPECT_THAT(policy.Authorize("provider.maternity", {trelink::v1::PROVIDER}, "other", "Pseudonymise"),
              StatusIs(absl::StatusCode::kPermissionDenied, "may not act on project \"other\""));
  EXPECT_THAT(policy.Authorize("analyst", {trelink::v1::PROVIDER}, "demo", "Pseudonymise"),
              StatusIs(absl::StatusCode::kPermissionDenied, "role analyst"));
  EXPECT_THAT(policy.Authorize("analyst", {trelink::v1::ANALYST}, "pilot", "Count"), IsOk());
}

TEST(AccessPolicyTest, WildcardProjectAndProjectlessCalls) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.Authorize("linkage-admin", {trelink::v1::LINKAGE_ADMIN}, "anything", "RunLinkage"), IsOk());
  EXPECT_THAT(policy.Authorize("linkage-admin", {trelink::v1::LINKAGE_ADMIN}, "", "GetKeyInfo"), IsOk());
  EXPECT_THAT(policy.AuthorizeRole("analyst", {trelink::v1::ANALYST}, "DescribeCatalogue"), IsOk());
  EXPECT_THAT(policy.AuthorizeRole("analyst", {trelink::v1::AUDITOR}, "DescribeCatalogue"),
              StatusIs(absl::StatusCode::kPermissionDenied, "role analyst"));
}

// Issue 12, item 4: an empty project string skipped the project check, so a
// caller held to one project passed any call that named none.
TEST(AccessPolicyTest, AnEmptyProjectPassesOnlyForTheWildcard) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.Authorize("provider.maternity", {trelink::v1::PROVIDER}, "", "GetKeyInfo"),
              StatusIs(absl::StatusCode::kPermissionDenied, "no project named"));
  EXPECT_THAT(policy.Authorize("auditor.demo", {trelink::v1::AUDITOR}, "", "GetEntries"),
              StatusIs(absl::StatusCode::kPermissionDenied, "no project named"));
}

// Issue 12, item 4: the audit log of an aggregator holds every project it
// serves, so an auditor must hold all of them.
TEST(AccessPolicyTest, AuditNeedsEveryProjectTheLogHolds) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.AuthorizeEvery("auditor.demo", {trelink::v1::AUDITOR}, {"demo"}, "GetEntries"), IsOk());
  EXPECT_THAT(policy.AuthorizeEvery("auditor.demo", {trelink::v1::AUDITOR}, {"demo", "pilot"}, "GetEntries"),
              StatusIs(absl::StatusCode::kPermissionDenied, "may not act on project \"pilot\""));
  EXPECT_THAT(policy.AuthorizeEvery("auditor.demo", {trelink::v1::AUDITOR}, {}, "GetEntries"),
              StatusIs(absl::StatusCode::kPermissionDenied, "every project"));
  EXPECT_THAT(policy.AuthorizeEvery("auditor.all", {trelink::v1::AUDITOR}, {"demo", "pilot", "*"}, "GetEntries"),
              IsOk());
  EXPECT_THAT(policy.AuthorizeEvery("auditor.demo", {trelink::v1::AUDITOR}, {"*"}, "GetEntries"),
              StatusIs(absl::StatusCode::kPermissionDenied, "project \"*\""));
}

// Issue 12, item 5: a provider's certificate could send any dataset.
TEST(AccessPolicyTest, ProvidersAreBoundToTheirDatasets) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.AuthorizeDataset("provider.maternity", "maternity", "Ingest"), IsOk());
  EXPECT_THAT(policy.AuthorizeDataset("provider.maternity", "court", "Ingest"),
              StatusIs(absl::StatusCode::kPermissionDenied, "may not send records of dataset \"court\""));
  EXPECT_THAT(policy.AuthorizeDataset("provider.maternity", "", "Ingest"),
              StatusIs(absl::StatusCode::kPermissionDenied, "dataset \"\""));
  EXPECT_THAT(policy.AuthorizeDataset("provider.any", "court", "Ingest"), IsOk());
  EXPECT_THAT(policy.AuthorizeDataset("mallory", "court", "Ingest"), StatusIs(absl::StatusCode::kPermissionDenied, "mallory"));
}

TEST(AccessPolicyTest, UnknownAndMissingIdentities) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.Authorize("", {trelink::v1::PROVIDER}, "demo", "Pseudonymise"),
              StatusIs(absl::StatusCode::kUnauthenticated, "no authenticated client certificate"));
  EXPECT_THAT(policy.Authorize("mallory", {trelink::v1::PROVIDER}, "demo", "Pseudonymise"),
              StatusIs(absl::StatusCode::kPermissionDenied, "has no role"));
}

TEST(AccessPolicyTest, InvalidConfigIsRejectedByField) {
  trelink::v1::AccessPolicy config;
  auto* p = config.add_principals();
  p->set_identity("x");
  p->set_role(trelink::v1::PROVIDER);
  EXPECT_THAT(AccessPolicy::Create(config), StatusIs(absl::StatusCode::kInvalidArgument, "principals[0].projects"));
  p->add_projects("demo");
  // Issue 12, item 5: a provider must say which datasets it may send.
  EXPECT_THAT(AccessPolicy::Create(config), StatusIs(absl::StatusCode::kInvalidArgument, "principals[0].datasets"));
  p->add_datasets("*");
  *config.add_principals() = *p;
  EXPECT_THAT(AccessPolicy::Create(config), StatusIs(absl::StatusCode::kInvalidArgument, "listed twice"));
  config.mutable_principals(1)->set_identity("y");
  config.mutable_principals(1)->set_role(trelink::v1::ROLE_UNSPECIFIED);
  EXPECT_THAT(AccessPolicy::Create(config), StatusIs(absl::StatusCode::kInvalidArgument, "principals[1].role"));
}

TEST(TextConfigTest, ErrorsNameSourceLineAndField) {
  trelink::v1::PseudonymiserConfig config;
  absl::Status status = ParseTextConfig("master_key_file: \"k\"\nno_such_field: 3\n", "p.textproto", config);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "p.textproto:2:"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "no_such_field"));
  EXPECT_THAT(LoadTextConfig("/nonexistent.textproto", config), StatusIs(absl::StatusCode::kNotFound, "cannot open"));
}

// Issue 12, item 9: a directory read as an empty config, so the error named
// a missing field instead of the path.
TEST(TextConfigTest, ADirectoryIsNamedAsSuch) {
  trelink::v1::PseudonymiserConfig config;
  EXPECT_THAT(LoadTextConfig(TRELINK_SOURCE_DIR, config),
              StatusIs(absl::StatusCode::kInvalidArgument, absl::StrCat(TRELINK_SOURCE_DIR, " is a directory")));
}

}  // namespace
}  // namespace trelink
