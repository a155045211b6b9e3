#include "common/pseudonym/pseudonymiser.h"

#include <gtest/gtest.h>

#include "common/crypto/sealed_batch.h"
#include "common/pseudonym/key_schema.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::NewKeyset;
using ::trelink::testing::NewLinkerKeys;
using ::trelink::testing::StatusIs;
using trelink::v1::PseudonymiseBatchRequest;
using trelink::v1::SealedMatchKeys;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

trelink::v1::Identifiers Amelia() {
  trelink::v1::Identifiers ids;
  ids.set_nhs_number("943 476 5919");
  ids.set_given_name("Amelia");
  ids.set_family_name("O'Brien");
  ids.set_date_of_birth("1991-03-14");
  ids.set_sex("F");
  ids.set_postcode("LS6 1AN");
  return ids;
}

PseudonymiseBatchRequest Batch(const std::string& project, std::vector<trelink::v1::Identifiers> people,
                               const std::string& batch_id = "b-1") {
  PseudonymiseBatchRequest request;
  request.set_project(project);
  request.set_dataset("maternity");
  request.set_batch_id(batch_id);
  for (auto& ids : people) {
    auto* p = request.add_records()->add_participants();
    p->set_role("mother");
    *p->mutable_identifiers() = ids;
  }
  return request;
}

class PseudonymiserTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(NewKeyset()); }

  void Build(MasterKeyset keyset, PseudonymiserLimits limits = {}) {
    auto created = Pseudonymiser::Create(std::move(keyset), linker_.public_key(), DefaultKeySchema(), limits, kClock);
    ASSERT_THAT(created, IsOk());
    pseudonymiser_ = *std::move(created);
  }

  // Pseudonymises and opens the result as the linker would.
  SealedMatchKeys Run(const PseudonymiseBatchRequest& request, trelink::v1::BatchStats* stats = nullptr) {
    auto response = pseudonymiser_->PseudonymiseBatch(request);
    EXPECT_THAT(response, IsOk());
    if (!response.ok()) return {};
    if (stats != nullptr) *stats = response->stats();
    EXPECT_EQ(response->sealed().recipient_fingerprint(), linker_.public_key().Fingerprint());
    auto opened = OpenSealedBatch(response->sealed().blob(), linker_,
                                  {request.project(), request.dataset(), request.batch_id(),
                                   static_cast<uint32_t>(request.records_size())});
    EXPECT_THAT(opened, IsOk());
    return opened.ok() ? *opened : SealedMatchKeys();
  }

  static std::string Value(const SealedMatchKeys& keys, int record, const std::string& name) {
    for (int k = 0; k < keys.key_names_size(); ++k) {
      if (keys.key_names(k) == name) return keys.records(record).participants(0).values(k);
    }
    ADD_FAILURE() << "no key " << name;
    return "";
  }

  LinkerKeyPair linker_ = NewLinkerKeys();
  std::unique_ptr<Pseudonymiser> pseudonymiser_;
};

TEST_F(PseudonymiserTest, SamePersonWrittenDifferentlyGetsTheSameKeys) {
  trelink::v1::Identifiers variant = Amelia();
  variant.set_nhs_number("9434765919");
  variant.set_given_name("  AMÉLIA ");
  variant.set_family_name("o brien");
  variant.set_postcode("ls61an");
  variant.set_sex("f");
  SealedMatchKeys keys = Run(Batch("demo", {Amelia(), variant}));
  ASSERT_EQ(keys.records_size(), 2);
  for (const char* name : {"nhs", "name_dob", "initial_phonetic_dob_district", "dob_postcode_given"}) {
    EXPECT_EQ(Value(keys, 0, name).size(), kMatchKeyBytes) << name;
    EXPECT_EQ(Value(keys, 0, name), Value(keys, 1, name)) << name;
  }
  EXPECT_EQ(Value(keys, 0, "t.family_name").size(), kFieldTokenBytes);
}

TEST_F(PseudonymiserTest, KeysAreStableAcrossBatchesAndDifferBetweenProjects) {
  SealedMatchKeys first = Run(Batch("demo", {Amelia()}, "b-1"));
  SealedMatchKeys second = Run(Batch("demo", {Amelia()}, "b-2"));
  SealedMatchKeys other = Run(Batch("other-study", {Amelia()}, "b-1"));
  EXPECT_EQ(Value(first, 0, "nhs"), Value(second, 0, "nhs"));
  EXPECT_NE(Value(first, 0, "nhs"), Value(other, 0, "nhs"));
  EXPECT_NE(Value(first, 0, "t.dob"), Value(other, 0, "t.dob"));
}

TEST_F(PseudonymiserTest, OutputsCarryThePrimaryKeyVersionAndRotationChangesKeys) {
  MasterKeyset keyset = NewKeyset();
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_THAT(keyset.Save(dir + "/k", false), IsOk());
  Build(*MasterKeyset::Load(dir + "/k"));
  SealedMatchKeys v1 = Run(Batch("demo", {Amelia()}));
  EXPECT_EQ(v1.key_version(), 1u);

  ASSERT_THAT(keyset.Rotate(), IsOk());
  Build(std::move(keyset));
  auto response = pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia()}));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->sealed().key_version(), 2u);
  SealedMatchKeys v2 = Run(Batch("demo", {Amelia()}));
  EXPECT_EQ(v2.key_version(), 2u);
  EXPECT_NE(Value(v1, 0, "nhs"), Value(v2, 0, "nhs"));
  const auto info = pseudonymiser_->KeyInfo();
  ASSERT_EQ(info.versions_size(), 2);
  EXPECT_FALSE(info.versions(0).primary());
  EXPECT_TRUE(info.versions(1).primary());
}

TEST_F(PseudonymiserTest, InvalidNhsNumberIsCountedAndNeverHashed) {
  trelink::v1::Identifiers bad = Amelia();
  bad.set_nhs_number("943 476 5918");  // wrong check digit
  trelink::v1::Identifiers missing = Amelia();
  missing.clear_nhs_number();
  trelink::v1::BatchStats stats;
  SealedMatchKeys keys = Run(Batch("demo", {Amelia(), bad, missing}), &stats);
  EXPECT_EQ(stats.records(), 3u);
  EXPECT_EQ(stats.participants(), 3u);
  EXPECT_EQ(stats.invalid_nhs_numbers(), 1u);
  EXPECT_EQ(stats.missing_nhs_numbers(), 1u);
  EXPECT_EQ(stats.keys_not_formed(), 4u);  // "nhs" and "t.nhs", twice
  EXPECT_FALSE(Value(keys, 0, "nhs").empty());
  EXPECT_TRUE(Value(keys, 1, "nhs").empty());
  EXPECT_TRUE(Value(keys, 2, "nhs").empty());
  // The other keys still link the record.
  EXPECT_EQ(Value(keys, 0, "name_dob"), Value(keys, 1, "name_dob"));
}

TEST_F(PseudonymiserTest, TokensAgreeOnPartialMatches) {
  trelink::v1::Identifiers swapped = Amelia();
  swapped.set_given_name("O'Brien");
  swapped.set_family_name("Amelia");
  trelink::v1::Identifiers day_month = Amelia();
  day_month.set_date_of_birth("1991-03-12");
  trelink::v1::Identifiers dm_swapped = Amelia();
  dm_swapped.set_date_of_birth("1991-12-03");
  trelink::v1::Identifiers nickname = Amelia();
  nickname.set_given_name("Liz");
  trelink::v1::Identifiers formal = Amelia();
  formal.set_given_name("Elizabeth");
  SealedMatchKeys keys = Run(Batch("demo", {Amelia(), swapped, day_month, dm_swapped, nickname, formal}));
  EXPECT_NE(Value(keys, 0, "name_dob"), Value(keys, 1, "name_dob"));
  EXPECT_EQ(Value(keys, 0, "t.names_unordered"), Value(keys, 1, "t.names_unordered"));
  EXPECT_EQ(Value(keys, 2, "t.dob_day_month_unordered"), Value(keys, 3, "t.dob_day_month_unordered"));
  EXPECT_NE(Value(keys, 2, "t.dob"), Value(keys, 3, "t.dob"));
  EXPECT_EQ(Value(keys, 0, "t.dob_year_month"), Value(keys, 2, "t.dob_year_month"));
  EXPECT_EQ(Value(keys, 4, "t.given_name"), Value(keys, 5, "t.given_name"));
  // Years one apart share one of the two year windows; two apart share none.
  trelink::v1::Identifiers next_year = Amelia(), two_years = Amelia(), unnamed = Amelia();
  next_year.set_date_of_birth("1992-03-12");
  two_years.set_date_of_birth("1993-03-12");
  unnamed.set_given_name("Baby");
  SealedMatchKeys years = Run(Batch("demo", {Amelia(), next_year, two_years, unnamed}));
  EXPECT_TRUE(Value(years, 0, "t.dob_year_window_even") == Value(years, 1, "t.dob_year_window_even") ||
              Value(years, 0, "t.dob_year_window_odd") == Value(years, 1, "t.dob_year_window_odd"));
  EXPECT_NE(Value(years, 0, "t.dob_year_window_even"), Value(years, 2, "t.dob_year_window_even"));
  EXPECT_NE(Value(years, 0, "t.dob_year_window_odd"), Value(years, 2, "t.dob_year_window_odd"));
  EXPECT_TRUE(Value(years, 3, "t.given_name").empty());  // a placeholder is no name
  EXPECT_TRUE(Value(years, 3, "name_dob").empty());
  // Domain separation: tokens of different keys never agree, even over the
  // same text (swapped names are caught by t.names_unordered instead).
  EXPECT_NE(Value(keys, 0, "t.family_phonetic"), Value(keys, 1, "t.given_phonetic"));
}

TEST_F(PseudonymiserTest, BadFieldRejectsTheWholeBatchNamingRecordAndFieldNotValue) {
  trelink::v1::Identifiers future = Amelia();
  future.set_date_of_birth("2031-07-04");
  auto result = pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia(), future}, "b-7"));
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument,
                               "batch b-7: records[1].participants[0].identifiers.date_of_birth: date is in the future"));
  const std::string message(result.status().message());
  for (const char* value : {"2031", "O'Brien", "OBRIEN", "Amelia", "9434765919", "LS6"}) {
    EXPECT_EQ(message.find(value), std::string::npos) << value;
  }

  trelink::v1::Identifiers bad_sex = Amelia();
  bad_sex.set_sex("female");
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {bad_sex})),
              StatusIs(absl::StatusCode::kInvalidArgument, "records[0].participants[0].identifiers.sex"));
  trelink::v1::Identifiers bad_postcode = Amelia();
  bad_postcode.set_postcode("not a postcode");
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {bad_postcode})),
              StatusIs(absl::StatusCode::kInvalidArgument, "identifiers.postcode"));
}

// Issue 12, item 9: normalisation dropped a NUL, so "Ame\0lia" hashed as
// "AMELIA"; a control byte in a name is now a bad field.
TEST_F(PseudonymiserTest, AControlCharacterInANameIsRejected) {
  trelink::v1::Identifiers nul_given = Amelia();
  nul_given.set_given_name(std::string("Ame\0lia", 7));
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia(), nul_given}, "b-8")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "batch b-8: records[1].participants[0].identifiers.given_name: contains a control character"));
  trelink::v1::Identifiers tab_family = Amelia();
  tab_family.set_family_name("O'Brien\t");
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {tab_family})),
              StatusIs(absl::StatusCode::kInvalidArgument, "identifiers.family_name: contains a control character"));
}

TEST_F(PseudonymiserTest, BatchHeaderAndShapeAreChecked) {
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("", {Amelia()})),
              StatusIs(absl::StatusCode::kInvalidArgument, "project"));
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia()}, "")),
              StatusIs(absl::StatusCode::kInvalidArgument, "batch_id"));
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {})),
              StatusIs(absl::StatusCode::kInvalidArgument, "records: batch is empty"));
  PseudonymiseBatchRequest no_participants = Batch("demo", {Amelia()});
  no_participants.add_records();
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(no_participants),
              StatusIs(absl::StatusCode::kInvalidArgument, "records[1].participants: none"));
  PseudonymiseBatchRequest no_role = Batch("demo", {Amelia()});
  no_role.mutable_records(0)->mutable_participants(0)->clear_role();
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(no_role),
              StatusIs(absl::StatusCode::kInvalidArgument, "records[0].participants[0].role"));
}

TEST_F(PseudonymiserTest, BatchOverTheLimitIsResourceExhausted) {
  PseudonymiserLimits limits;
  limits.max_records_per_batch = 2;
  Build(NewKeyset(), limits);
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia(), Amelia(), Amelia()})),
              StatusIs(absl::StatusCode::kResourceExhausted, "exceed the limit of 2"));
  EXPECT_THAT(pseudonymiser_->PseudonymiseBatch(Batch("demo", {Amelia(), Amelia()})), IsOk());
}

TEST(KeySchemaTest, ValidationNamesTheOffendingKey) {
  EXPECT_THAT(ValidateKeySchema(DefaultKeySchema()), IsOk());
  trelink::v1::KeySchema schema = DefaultKeySchema();
  schema.mutable_keys(2)->set_name("nhs");
  EXPECT_THAT(ValidateKeySchema(schema), StatusIs(absl::StatusCode::kInvalidArgument, "keys[2].name: duplicate"));
  schema = DefaultKeySchema();
  schema.mutable_keys(1)->clear_fields();
  EXPECT_THAT(ValidateKeySchema(schema), StatusIs(absl::StatusCode::kInvalidArgument, "keys[1].fields"));
  schema = DefaultKeySchema();
  schema.mutable_keys(0)->set_kind(trelink::v1::KeySpec::KIND_UNSPECIFIED);
  EXPECT_THAT(ValidateKeySchema(schema), StatusIs(absl::StatusCode::kInvalidArgument, "keys[0].kind"));
  EXPECT_THAT(ValidateKeySchema({}), StatusIs(absl::StatusCode::kInvalidArgument, "no keys"));
}

TEST(PseudonymiserConfigTest, FromConfigReportsMissingFilesByField) {
  trelink::v1::PseudonymiserConfig config;
  EXPECT_THAT(Pseudonymiser::FromConfig(config, kClock),
              StatusIs(absl::StatusCode::kInvalidArgument, "master_key_file: required"));
  config.set_master_key_file("/nonexistent/master.keyset");
  config.set_linker_public_key_file("/nonexistent/linker.pub");
  EXPECT_THAT(Pseudonymiser::FromConfig(config, kClock), StatusIs(absl::StatusCode::kNotFound, "master.keyset"));
}

}  // namespace
}  // namespace trelink
