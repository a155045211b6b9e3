#include "common/catalogue/catalogue.h"

#include <gtest/gtest.h>

#include "common/config/text_config.h"
#include "common/csv/record_columns.h"
#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

std::string DefaultPath() { return std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto"; }

absl::StatusOr<Catalogue> FromText(const std::string& text) {
  trelink::v1::Catalogue config;
  absl::Status parsed = ParseTextConfig(text, "test", config);
  if (!parsed.ok()) return parsed;
  return Catalogue::Create(config);
}

trelink::v1::ContentRecord Birth() {
  trelink::v1::ContentRecord r;
  r.set_event("birth");
  r.set_event_date("2020-02-11");
  (*r.mutable_attributes())["region"] = "E12000003";
  (*r.mutable_attributes())["imd_decile"] = "3";
  return r;
}

TEST(CatalogueTest, DefaultCatalogueHasTheThreeDatasets) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  ASSERT_NE(catalogue.Find("maternity"), nullptr);
  ASSERT_NE(catalogue.Find("social_care"), nullptr);
  ASSERT_NE(catalogue.Find("court"), nullptr);
  EXPECT_EQ(catalogue.Find("prisons"), nullptr);
  EXPECT_EQ(catalogue.Find("maternity")->roles(1), "baby");
  EXPECT_EQ(catalogue.Find("court")->relations(0).kind(), "parent_child");
}

TEST(CatalogueTest, InvalidCataloguesAreRejectedNamingTheEntry) {
  EXPECT_THAT(FromText(""), StatusIs(absl::StatusCode::kInvalidArgument, "no datasets"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" }
                            datasets { name: "a" roles: "p" events: "e" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[1]: duplicate dataset name"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" events: "e" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0]: at least one role"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" attributes { name: "x" type: CODE } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].attributes[0]: a CODE attribute needs"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e"
                                       attributes { name: "d" type: DATE groupable: true } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "only CODE and INTEGER"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e"
                                       relations { kind: "r" from_role: "p" to_role: "q" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].relations[0]"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e"
                                       attributes { name: "event_date" type: DATE } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "reserved"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "A b" roles: "p" events: "e" })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0]: name"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" once_per_person { role: "q" events: "e" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].once_per_person[0].role"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" once_per_person { role: "p" events: "x" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].once_per_person[0].events: not an event"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" once_per_person { role: "p" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].once_per_person[0].events"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" role_implies { role: "p" sex: "X" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].role_implies[0].sex: must be F or M"));
}

TEST(RecordColumnsTest, ARoleImpliesItsSexWhereTheFileHasNone) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  const auto& maternity = *catalogue.Find("maternity");
  const std::vector<std::string> header = {"mother_given_name", "mother_dob", "baby_dob", "event", "event_date",
                                           "region"};
  TRELINK_ASSERT_OK_AND_ASSIGN(RecordColumns columns, RecordColumns::Create(header, maternity));
  trelink::v1::IdentifierRecord ids;
  trelink::v1::ContentRecord content;
  columns.Fill({"Amelia", "1990-03-14", "2015-06-02", "birth", "2015-06-02", "E12000003"}, ids, content);
  ASSERT_EQ(ids.participants_size(), 2);
  EXPECT_EQ(ids.participants(0).role(), "mother");
  EXPECT_EQ(ids.participants(0).identifiers().sex(), "F");
  EXPECT_EQ(ids.participants(1).role(), "baby");
  EXPECT_EQ(ids.participants(1).identifiers().sex(), "");  // nothing implied for a baby
}

TEST(RecordColumnsTest, ANewbornTakesItsMothersPostcodeWhereItHasNone) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  const auto& maternity = *catalogue.Find("maternity");
  const std::vector<std::string> header = {"mother_given_name", "mother_postcode", "baby_dob", "event", "event_date",
                                           "region"};
  TRELINK_ASSERT_OK_AND_ASSIGN(RecordColumns columns, RecordColumns::Create(header, maternity));
  trelink::v1::IdentifierRecord ids;
  trelink::v1::ContentRecord content;
  columns.Fill({"Amelia", "LS1 4AP", "2015-06-02", "birth", "2015-06-02", "E12000003"}, ids, content);
  ASSERT_EQ(ids.participants_size(), 2);
  EXPECT_EQ(ids.participants(0).identifiers().postcode(), "LS1 4AP");
  EXPECT_EQ(ids.participants(1).role(), "baby");
  EXPECT_EQ(ids.participants(1).identifiers().postcode(), "LS1 4AP");
  // No mother's postcode, no baby's: nothing is made up.
  ids.Clear();
  columns.Fill({"Amelia", "", "2015-06-02", "birth", "2015-06-02", "E12000003"}, ids, content);
  ASSERT_EQ(ids.participants_size(), 2);
  EXPECT_EQ(ids.participants(1).identifiers().postcode(), "");
  // A baby without identifiers of its own stays out, postcode or not.
  ids.Clear();
  columns.Fill({"Amelia", "LS1 4AP", "", "booking", "2015-01-02", "E12000003"}, ids, content);
  EXPECT_EQ(ids.participants_size(), 1);
}

TEST(CatalogueTest, APostcodeIsTakenOnlyFromAnotherRoleOfTheDataset) {
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" role_implies { role: "p" postcode_from_role: "p" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "datasets[0].role_implies[0].postcode_from_role: not another role of the dataset"));
  EXPECT_THAT(FromText(R"pb(datasets { name: "a" roles: "p" events: "e" role_implies { role: "p" } })pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, "datasets[0].role_implies[0]: implies nothing"));
}

TEST(CatalogueTest, ContentIsCheckedAgainstTheDataset) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  const auto& maternity = *catalogue.Find("maternity");
  EXPECT_THAT(catalogue.ValidateContent(maternity, Birth()), IsOk());

  auto r = Birth();
  r.set_event("adoption_order");
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "event: not an event of dataset maternity"));
  r = Birth();
  r.set_event_date("2020-02-30");
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "event_date: not an ISO date"));
  r.set_event_date("1999-12-31");
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "event_date: outside"));
  r = Birth();
  (*r.mutable_attributes())["region"] = "W99999999";
  auto status = catalogue.ValidateContent(maternity, r);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "attributes.region: not one of"));
  EXPECT_EQ(std::string(status.message()).find("W99999999"), std::string::npos);
  r = Birth();
  (*r.mutable_attributes())["imd_decile"] = "11";
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "attributes.imd_decile: outside 1..10"));
  (*r.mutable_attributes())["imd_decile"] = "three";
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "not an integer"));
  r = Birth();
  (*r.mutable_attributes())["religion"] = "x";
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "attributes.religion: not an attribute"));
  r = Birth();
  r.mutable_attributes()->erase("region");
  EXPECT_THAT(catalogue.ValidateContent(maternity, r), StatusIs(absl::StatusCode::kInvalidArgument, "attributes.region: required"));
}

TEST(RecordColumnsTest, SplitsIdentifiersFromContentAndRejectsUnknownColumns) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  const auto& court = *catalogue.Find("court");
  const std::vector<std::string> header = {"record_id", "child_given_name", "child_dob", "parent_family_name",
                                           "event", "event_date", "region", "parent_learning_disability"};
  TRELINK_ASSERT_OK_AND_ASSIGN(RecordColumns columns, RecordColumns::Create(header, court));
  trelink::v1::IdentifierRecord ids;
  trelink::v1::ContentRecord content;
  columns.Fill({"C1", "Olivia", "2020-02-11", "", "care_proceedings", "2020-02-20", "E12000003", "Y"}, ids, content);
  ASSERT_EQ(ids.participants_size(), 1);  // the parent's only column was empty
  EXPECT_EQ(ids.participants(0).role(), "child");
  EXPECT_EQ(ids.participants(0).identifiers().given_name(), "Olivia");
  EXPECT_EQ(content.event(), "care_proceedings");
  EXPECT_EQ(content.attributes().at("parent_learning_disability"), "Y");
  EXPECT_EQ(content.attributes().count("record_id"), 0u);

  auto bad = header;
  bad.push_back("mother_dob");  // a role the court dataset does not have
  EXPECT_THAT(RecordColumns::Create(bad, court), StatusIs(absl::StatusCode::kInvalidArgument, "header column 9 \"mother_dob\""));
  EXPECT_THAT(RecordColumns::Create({"child_dob", "event"}, court), StatusIs(absl::StatusCode::kInvalidArgument, "event_date"));
}

// Issue 12, item 9: a repeated header column was accepted, its later cell
// silently overriding the earlier one.
TEST(RecordColumnsTest, ARepeatedHeaderColumnIsRejectedNamingBoth) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  EXPECT_THAT(RecordColumns::Create({"record_id", "child_dob", "event", "event_date", "region", "child_dob"},
                                    *catalogue.Find("court")),
              StatusIs(absl::StatusCode::kInvalidArgument, "header column 6 \"child_dob\" repeats column 2"));
}

// Issue 12, item 9: an event before the date of birth its age band is
// measured from was accepted (with the band silently missing).
TEST(RecordColumnsTest, AnEventBeforeTheAgeBandRolesBirthIsRejected) {
  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(DefaultPath()));
  const std::vector<std::string> header = {"mother_dob", "baby_dob", "event", "event_date", "region"};
  TRELINK_ASSERT_OK_AND_ASSIGN(RecordColumns columns, RecordColumns::Create(header, *catalogue.Find("maternity")));
  auto check = [&](const std::vector<std::string>& row) {
    trelink::v1::IdentifierRecord ids;
    trelink::v1::ContentRecord content;
    columns.Fill(row, ids, content);
    return columns.ValidateEventAfterBirth(ids, content);
  };
  EXPECT_THAT(check({"2005-01-01", "", "booking", "2004-06-01", "E12000003"}),
              StatusIs(absl::StatusCode::kInvalidArgument, "event_date: before the mother's date_of_birth"));
  // A baby named on its mother's booking is not born yet: no age band is
  // measured from it, so that is fine.
  EXPECT_THAT(check({"1991-03-14", "2020-02-11", "booking", "2019-08-01", "E12000003"}), IsOk());
  EXPECT_THAT(check({"1991-03-14", "2020-02-11", "birth", "2020-02-11", "E12000003"}), IsOk());
}

// Issue 12, item 9: an event date in the future was accepted; "today" comes
// from the caller's clock.
TEST(CatalogueTest, AnEventAfterTodayIsRejected) {
  trelink::v1::ContentRecord record = Birth();
  record.set_event_date("2026-11-27");
  EXPECT_THAT(ValidateEventNotFuture(record, absl::CivilDay(2026, 11, 27)), IsOk());
  EXPECT_THAT(ValidateEventNotFuture(record, absl::CivilDay(2026, 11, 26)),
              StatusIs(absl::StatusCode::kInvalidArgument, "event_date: after today"));
}

}  // namespace
}  // namespace trelink
