// The linkage engine on small, hand-made participant tables: each failure
// mode found on data trelink did not generate is a case here. Tokens are
// stand-ins for keyed hashes (any 8+ byte value; equal text, equal token).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/linkage/blocking.h"
#include "common/linkage/linkage_engine.h"
#include "common/linkage/linkage_model.h"
#include "common/pseudonym/key_schema.h"
#include "tests/support/status_matchers.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {
namespace {

// One participant's identifiers in the clear; the test turns them into the
// keys and tokens the pseudonymiser would send (same fields, same value).
struct Person {
  std::string nhs, given, family, dob, sex, postcode;
};

class TableBuilder {
 public:
  TableBuilder() {
    const trelink::v1::KeySchema schema = DefaultKeySchema();
    for (const auto& spec : schema.keys()) names_.push_back(spec.name());
  }

  // Adds a record of `dataset` with `event` and its participants by role;
  // returns the participant indexes in order.
  std::vector<uint32_t> Record(const std::string& dataset, const std::string& event,
                               const std::vector<std::pair<std::string, Person>>& participants) {
    ++record_;
    std::vector<uint32_t> added;
    for (const auto& [role, person] : participants) {
      rows_.push_back({record_, dataset, role, event, Keys(person)});
      added.push_back(static_cast<uint32_t>(rows_.size() - 1));
    }
    return added;
  }

  ParticipantTable Build() const {
    ParticipantTable table(names_);
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row& row = rows_[i];
      table.Add({static_cast<int64_t>(i + 1), row.record, row.dataset, row.role, row.event, "", names_, row.keys});
    }
    return table;
  }

 private:
  struct Row {
    int64_t record;
    std::string dataset, role, event, keys;
  };

  // The table keeps a token's first 8 bytes, so those must differ with the
  // value, as a keyed hash's do: an FNV-1a hash of it, then the value.
  static std::string Token(const std::string& domain, const std::string& value) {
    if (value.empty()) return "";
    const std::string text = domain + ":" + value;
    uint64_t hash = 14695981039346656037ull;
    for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return std::string(reinterpret_cast<const char*>(&hash), sizeof hash) + text;
  }

  std::string Keys(const Person& p) const {
    const std::string year = p.dob.substr(0, 4);
    const int y = p.dob.empty() ? 0 : std::stoi(year);
    std::map<std::string, std::string> v = {
        {"nhs", Token("nhs", p.nhs)},
        {"name_dob", p.given.empty() || p.dob.empty() ? "" : Token("nd", p.family + p.given + p.dob)},
        {"initial_phonetic_dob_district",
         p.given.empty() || p.dob.empty() ? "" : Token("ipd", p.given.substr(0, 1) + p.family + p.dob + p.postcode)},
        {"dob_postcode_given", p.given.empty() || p.postcode.empty() ? "" : Token("dpg", p.dob + p.postcode + p.given)},
        {"t.given_name", Token("g", p.given)},
        {"t.given_phonetic", Token("gp", p.given.substr(0, std::min<size_t>(p.given.size(), 2)))},
        {"t.family_name", Token("f", p.family)},
        {"t.family_phonetic", Token("fp", p.family.substr(0, std::min<size_t>(p.family.size(), 2)))},
        {"t.names_unordered", p.given.empty() || p.family.empty() ? "" : Token("nu", std::min(p.given, p.family) + std::max(p.given, p.family))},
        {"t.dob", Token("d", p.dob)},
        {"t.dob_year_month", Token("dym", p.dob.substr(0, std::min<size_t>(p.dob.size(), 6)))},
        {"t.dob_day_month_unordered", Token("ddm", p.dob)},
        {"t.dob_year_window_even", p.dob.empty() ? "" : Token("we", std::to_string(y / 2))},
        {"t.dob_year_window_odd", p.dob.empty() ? "" : Token("wo", std::to_string((y + 1) / 2))},
        {"t.sex", Token("s", p.sex)},
        {"t.postcode", Token("p", p.postcode)},
        {"t.postcode_district", Token("pd", p.postcode.substr(0, std::min<size_t>(p.postcode.size(), 3)))},
        {"t.nhs", Token("tn", p.nhs)},
    };
    trelink::v1::ParticipantKeys keys;
    for (const std::string& name : names_) keys.add_values(v.count(name) ? v.at(name) : "");
    return keys.SerializeAsString();
  }

  std::vector<std::string> names_;
  std::vector<Row> rows_;
  int64_t record_ = 0;
};

trelink::v1::Catalogue MaternityCatalogue() {
  trelink::v1::Catalogue catalogue;
  auto* maternity = catalogue.add_datasets();
  maternity->set_name("maternity");
  auto* relation = maternity->add_relations();
  relation->set_from_role("mother");
  relation->set_to_role("baby");
  relation->set_one_from_role_person(true);
  auto* once = maternity->add_once_per_person();
  once->set_role("baby");
  once->add_events("birth");
  once->add_events("stillbirth");
  return catalogue;
}

LinkageOptions Options(bool probabilistic) {
  trelink::v1::LinkagePolicy policy;
  policy.set_disable_probabilistic(!probabilistic);
  absl::StatusOr<LinkageOptions> options = LinkageOptions::FromPolicy(policy);
  EXPECT_TRUE(options.ok()) << options.status();
  options->AddCatalogueConstraints(MaternityCatalogue());
  return *options;
}

bool Together(const LinkageResult& result, uint32_t a, uint32_t b) { return result.set_of[a] == result.set_of[b]; }

const Person kMother{"4857773456", "AMELIA", "SMITH", "19900314", "F", "LS61AN"};
const Person kBaby{"9434765919", "OLIVIA", "SMITH", "20150602", "F", "LS61AN"};

TEST(LinkageEngineTest, ABabyRepeatedOnEveryPregnancyRowIsOnePerson) {
  TableBuilder builder;
  const auto booking = builder.Record("maternity", "booking", {{"mother", kMother}, {"baby", kBaby}});
  const auto birth = builder.Record("maternity", "birth", {{"mother", kMother}, {"baby", kBaby}});
  const auto referral = builder.Record("maternity", "pmh_referral", {{"mother", kMother}, {"baby", kBaby}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(false)));
  EXPECT_TRUE(Together(result, booking[1], birth[1]));
  EXPECT_TRUE(Together(result, birth[1], referral[1]));
  EXPECT_TRUE(Together(result, booking[0], referral[0]));
  EXPECT_FALSE(Together(result, booking[0], booking[1]));
  EXPECT_EQ(result.report.persons().value(), 2u);
}

TEST(LinkageEngineTest, TwoBirthsAreTwoBabiesEvenWithOneSetOfIdentifiers) {
  // Twins recorded before they were named, NHS numbers not yet on the rows:
  // identical identifiers, two birth records.
  Person twin{"", "", "SMITH", "20150602", "F", "LS61AN"};
  TableBuilder builder;
  const auto first = builder.Record("maternity", "birth", {{"mother", kMother}, {"baby", twin}});
  const auto second = builder.Record("maternity", "birth", {{"mother", kMother}, {"baby", twin}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  EXPECT_TRUE(Together(result, first[0], second[0]));
  EXPECT_FALSE(Together(result, first[1], second[1]));
}

// Unnamed at booking under the mother's family name, named later under
// another, no NHS number or postcode on the baby: no name or address rule
// proposes the pair; the mother and the date of birth do.
TEST(LinkageEngineTest, AnUnnamedBabyIsProposedThroughItsMotherAndDateOfBirth) {
  const Person unnamed{"", "", "SMITH", "20150602", "F", ""};
  const Person named{"", "OLIVIA", "JONES", "20150602", "F", ""};
  TableBuilder builder;
  const auto booking = builder.Record("maternity", "booking", {{"mother", kMother}, {"baby", unnamed}});
  const auto referral = builder.Record("maternity", "pmh_referral", {{"mother", kMother}, {"baby", named}});
  const ParticipantTable table = builder.Build();
  trelink::v1::LinkageModel model = DefaultLinkageModel();
  const auto& rules = model.blocking_rules();
  const auto related = std::find_if(rules.begin(), rules.end(), [](const trelink::v1::BlockingRule& rule) {
    return std::find(rule.tokens().begin(), rule.tokens().end(), "related_person") != rule.tokens().end();
  });
  ASSERT_NE(related, rules.end());
  // Mothers are participants 0 and 2, one person; babies 1 and 3.
  const std::vector<uint32_t> related_set = {kNoRelated, 0, kNoRelated, 0};
  google::protobuf::RepeatedPtrField<trelink::v1::BlockingRule> just_names(rules.begin(), related);
  EXPECT_TRUE(BlockPairs(table, just_names, 100, related_set).pairs.size() <= 1);  // the mothers at most
  const CandidatePairs all = BlockPairs(table, rules, 100, related_set);
  const uint64_t babies = (uint64_t{booking[1]} << 32) | referral[1];
  EXPECT_NE(std::find(all.pairs.begin(), all.pairs.end(), babies), all.pairs.end());
  // Without knowing the mothers are one person, no rule proposes the babies.
  const CandidatePairs unknown_mothers = BlockPairs(table, rules, 100, {});
  EXPECT_EQ(std::find(unknown_mothers.pairs.begin(), unknown_mothers.pairs.end(), babies),
            unknown_mothers.pairs.end());
}

TEST(LinkageEngineTest, BabiesOfTwoDifferentMothersAreTwoBabies) {
  // Two namesake babies born the same day, no NHS numbers on their rows;
  // their mothers' NHS numbers differ, so they are two babies.
  Person baby = kBaby;
  baby.nhs = "";
  Person other_mother = kMother;
  other_mother.nhs = "9876543210";
  other_mother.given = "ZARA";
  other_mother.dob = "19850707";
  TableBuilder builder;
  const auto first = builder.Record("maternity", "booking", {{"mother", kMother}, {"baby", baby}});
  const auto second = builder.Record("maternity", "booking", {{"mother", other_mother}, {"baby", baby}});
  const auto again = builder.Record("maternity", "pmh_referral", {{"mother", kMother}, {"baby", baby}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  EXPECT_FALSE(Together(result, first[1], second[1]));
  EXPECT_TRUE(Together(result, first[1], again[1]));  // the same mother: one baby
}

TEST(LinkageEngineTest, EveryMemberOfAKeyGroupIsTried) {
  // Three participants share an NHS number; the first is a baby's row that
  // carries it by mistake (its date of birth is decades away). The other
  // two must still join each other.
  Person wrong = kBaby;
  wrong.nhs = kMother.nhs;
  TableBuilder builder;
  const auto mistaken = builder.Record("social_care", "cin_referral", {{"person", wrong}});
  const auto a = builder.Record("social_care", "looked_after", {{"person", kMother}});
  Person married = kMother;
  married.family = "JONES";
  const auto b = builder.Record("social_care", "cin_referral", {{"person", married}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(false)));
  EXPECT_TRUE(Together(result, a[0], b[0]));
  EXPECT_FALSE(Together(result, mistaken[0], a[0]));
}

TEST(LinkageEngineTest, TheNhsPassHonoursTheDateOfBirthGuard) {
  // The mother's NHS number keyed on her baby's row of a later record.
  Person baby_with_mothers_number = kBaby;
  baby_with_mothers_number.nhs = kMother.nhs;
  baby_with_mothers_number.given = "";
  TableBuilder builder;
  const auto booking = builder.Record("maternity", "booking", {{"mother", kMother}});
  const auto social = builder.Record("social_care", "cin_referral", {{"person", baby_with_mothers_number}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  EXPECT_FALSE(Together(result, booking[0], social[0]));
}

TEST(LinkageEngineTest, AnNhsNumberSharedWithinARecordIsUsedForNeither) {
  Person baby_with_mothers_number = kBaby;
  baby_with_mothers_number.nhs = kMother.nhs;
  TableBuilder builder;
  const auto birth = builder.Record("maternity", "birth", {{"mother", kMother}, {"baby", baby_with_mothers_number}});
  const auto baby_record = builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  ParticipantTable table = builder.Build();
  EXPECT_EQ(table.DistrustKeysSharedWithinRecords("t.nhs", {"nhs", "t.nhs"}), 1u);
  EXPECT_EQ(table.Key(birth[0], table.Slot("t.nhs")), 0u);
  EXPECT_EQ(table.Key(birth[1], table.Slot("nhs")), 0u);
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  // The baby still joins its own record on names and date of birth.
  EXPECT_TRUE(Together(result, birth[1], baby_record[0]));
  EXPECT_FALSE(Together(result, birth[0], birth[1]));
}

TEST(LinkageEngineTest, DifferentSexesOrNhsNumbersNeverJoin) {
  Person brother = kBaby;
  brother.sex = "M";
  brother.nhs = "";
  Person other = kMother;
  other.nhs = "9876543210";
  TableBuilder builder;
  const auto girl = builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  const auto boy = builder.Record("social_care", "cin_referral", {{"person", brother}});
  const auto mother = builder.Record("social_care", "looked_after", {{"person", kMother}});
  const auto namesake = builder.Record("social_care", "looked_after", {{"person", other}});
  const ParticipantTable table = builder.Build();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  EXPECT_FALSE(Together(result, girl[0], boy[0]));
  EXPECT_FALSE(Together(result, mother[0], namesake[0]));
}

TEST(LinkageEngineTest, TheReportSaysWhenNoQualityEstimateCanBeMade) {
  TableBuilder builder;
  builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  builder.Record("social_care", "cin_referral", {{"person", kMother}});
  ParticipantTable table = builder.Build();
  table.ClearKeys({"nhs", "t.nhs"});  // nobody carries the gold identifier
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  ASSERT_EQ(result.report.quality().estimates_size(), 1);
  EXPECT_FALSE(result.report.quality().estimates(0).estimated());
  EXPECT_EQ(result.report.quality().estimates(0).method(), "none: no two participants share a t.nhs");
}

TEST(LinkageEngineTest, AMissedGoldPairLowersTheEstimatedRecall) {
  // Two records of one person share an NHS number and little else (the
  // date of birth within the month): linked with the number, missed without
  // it. Two more pairs agree on everything.
  Person other = kMother;
  other.given = "ZARA";
  other.family = "QUENNELL";
  other.dob = "19900301";
  other.postcode = "BS11AA";
  TableBuilder builder;
  builder.Record("social_care", "cin_referral", {{"person", kMother}});
  builder.Record("social_care", "cin_referral", {{"person", other}});
  builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  builder.Record("social_care", "looked_after", {{"person", kBaby}});
  Person stranger{"9876543210", "ROSA", "PARKS", "19700101", "F", "M11AA"};
  builder.Record("social_care", "cin_referral", {{"person", stranger}});
  builder.Record("social_care", "looked_after", {{"person", stranger}});
  const ParticipantTable table = builder.Build();
  LinkageOptions options = Options(true);
  options.quality.min_gold_pairs = 1;
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, options));
  const auto& all = result.report.quality().estimates(0);
  ASSERT_TRUE(all.estimated()) << all.method();
  EXPECT_EQ(all.gold_pairs().value(), 3u);
  EXPECT_DOUBLE_EQ(all.precision(), 1.0);
  // All three pairs are linked; the hidden linkage found two of three, so
  // the estimate allows for misses among links made without the number.
  EXPECT_NEAR(all.recall(), 1.0, 1e-9);  // every link here had both numbers
  bool saw_pass = false;
  for (const auto& e : result.report.quality().estimates()) {
    if (e.scope() == "pass probabilistic (t.nhs hidden)") {
      saw_pass = true;
      EXPECT_NEAR(e.recall(), 2.0 / 3.0, 1e-9);
      EXPECT_DOUBLE_EQ(e.precision(), 1.0);
    }
  }
  EXPECT_TRUE(saw_pass);
  // By subgroup: of the six participants' true partners, the hidden-number
  // linkage missed two (each side of the one missed pair).
  bool saw_dataset = false;
  for (const auto& g : result.report.quality().subgroups()) {
    if (g.attribute() != "dataset") continue;
    saw_dataset = true;
    EXPECT_EQ(g.value(), "social_care");
    EXPECT_EQ(g.participants().value(), 6u);
    EXPECT_NEAR(g.missed_link_rate(), 2.0 / 6.0, 1e-9);
    EXPECT_DOUBLE_EQ(g.false_link_rate(), 0.0);
  }
  EXPECT_TRUE(saw_dataset);
  // Under the disclosure threshold the subgroup shows only that it exists.
  trelink::v1::LinkageReport report = result.report;
  SuppressSmallCounts(report, 10);
  for (const auto& g : report.quality().subgroups()) {
    EXPECT_TRUE(g.participants().suppressed());
    EXPECT_EQ(g.missed_link_rate(), 0.0);
  }
  EXPECT_TRUE(report.quality().estimates(0).gold_pairs().suppressed());
}

TEST(LinkageEngineTest, AgreeingOnARareNameCountsForMoreThanOnACommonOne) {
  TableBuilder builder;
  std::vector<uint32_t> smiths;
  for (int i = 0; i < 8; ++i) {
    Person smith = kMother;
    smith.nhs = "";
    smith.dob = absl::StrCat("198", i, "0101");
    smiths.push_back(builder.Record("social_care", "cin_referral", {{"person", smith}})[0]);
  }
  Person rare = kMother;
  rare.nhs = "";
  rare.family = "QUENNELL";
  const uint32_t quennell = builder.Record("social_care", "cin_referral", {{"person", rare}})[0];
  Person none = kMother;
  none.family = "";
  const uint32_t unnamed = builder.Record("social_care", "cin_referral", {{"person", none}})[0];
  const ParticipantTable table = builder.Build();
  // u = 0.5: two random carriers agree half the time on average.
  const std::vector<float> adjust = TermFrequencyAdjustments(table, table.Slot("t.family_name"), 0.5);
  // SMITH is 8 of 9 values: log2(0.5 / (8/9)); QUENNELL 1 of 9: log2(0.5 * 9).
  EXPECT_NEAR(adjust[smiths[0]], std::log2(0.5 / (8.0 / 9.0)), 1e-6);
  EXPECT_NEAR(adjust[quennell], std::log2(0.5 * 9.0), 1e-6);
  EXPECT_LT(adjust[smiths[3]], 0.0f);
  EXPECT_GT(adjust[quennell], 0.0f);
  EXPECT_EQ(adjust[unnamed], 0.0f);  // no value, no adjustment
}

// Name and date of birth shared across two postcode districts with no NHS
// number: a move, or two people. The key alone cannot tell; the model can,
// by how common the names are.
TEST(LinkageEngineTest, AKeySharedAcrossDistrictsLinksARareNameButNotACommonOne) {
  TableBuilder builder;
  const std::vector<std::string> districts = {"LS6", "M14", "B12", "N17", "CF1"};
  // 300 women, each with two records in her own district; two in five are
  // called JADE and two in five SMITH.
  for (int i = 0; i < 300; ++i) {
    Person woman;
    woman.given = i % 5 < 2 ? "JADE" : absl::StrCat("GIVEN", i);
    woman.family = i % 5 == 1 || i % 5 == 2 ? "SMITH" : absl::StrCat("FAMILY", i);
    woman.dob = absl::StrCat(1970 + i % 30, "0", 1 + i % 9, 10 + i % 18);
    woman.sex = "F";
    woman.postcode = absl::StrCat(districts[static_cast<size_t>(i) % districts.size()], "1AA");
    builder.Record("social_care", "cin_referral", {{"person", woman}});
    builder.Record("social_care", "cin_referral", {{"person", woman}});
  }
  Person common{"", "JADE", "SMITH", "19910707", "F", "LS61AN"};
  const uint32_t common_leeds = builder.Record("social_care", "cin_referral", {{"person", common}})[0];
  common.postcode = "M141PQ";
  const uint32_t common_manchester = builder.Record("social_care", "cin_referral", {{"person", common}})[0];
  Person rare{"", "ZOFIA", "WISNIEWSKA", "19880505", "F", "LS61AN"};
  const uint32_t rare_leeds = builder.Record("social_care", "cin_referral", {{"person", rare}})[0];
  rare.postcode = "M141PQ";
  const uint32_t rare_manchester = builder.Record("social_care", "cin_referral", {{"person", rare}})[0];
  const ParticipantTable table = builder.Build();

  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult result, LinkParticipants(table, Options(true)));
  EXPECT_TRUE(Together(result, rare_leeds, rare_manchester));
  EXPECT_FALSE(Together(result, common_leeds, common_manchester));
  const auto& passes = result.report.passes();
  const auto name_dob = std::find_if(passes.begin(), passes.end(), [](const auto& p) {
    return p.name() == "name_dob" && p.dataset().empty();
  });
  ASSERT_NE(name_dob, passes.end());
  EXPECT_EQ(name_dob->pairs_reviewed().value(), 2u);
  const auto reviewed = std::find_if(passes.begin(), passes.end(), [](const auto& p) {
    return p.name() == "name_dob reviewed" && p.dataset().empty();
  });
  ASSERT_NE(reviewed, passes.end());
  EXPECT_EQ(reviewed->merges().value(), 1u);
  // Its participants are the four of the two pairs; the pairs themselves
  // are counted once, on the key's own row.
  EXPECT_EQ(reviewed->participants_in().value(), 4u);
  EXPECT_FALSE(reviewed->has_pairs_reviewed());

  // Without the review the key links both pairs.
  LinkageOptions unreviewed = Options(true);
  unreviewed.fellegi_sunter.model.clear_key_reviews();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageResult keyed, LinkParticipants(table, unreviewed));
  EXPECT_TRUE(Together(keyed, common_leeds, common_manchester));
  EXPECT_TRUE(Together(keyed, rare_leeds, rare_manchester));
}

TEST(LinkageEngineTest, AKeyReviewMustNameADeterministicKeyAndAStoredToken) {
  trelink::v1::LinkagePolicy policy;
  policy.add_deterministic_keys("nhs");
  policy.add_deterministic_keys("name_dob");
  *policy.mutable_model() = DefaultLinkageModel();
  policy.mutable_model()->mutable_key_reviews(0)->set_key("dob_postcode_given");
  EXPECT_THAT(LinkageOptions::FromPolicy(policy),
              ::trelink::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           "linkage.model.key_reviews[0].key: \"dob_postcode_given\" is not one of "
                                           "linkage.deterministic_keys"));
  policy.mutable_model()->mutable_key_reviews(0)->set_key("name_dob");
  policy.mutable_model()->mutable_key_reviews(0)->set_match_probability(1.5);
  EXPECT_THAT(LinkageOptions::FromPolicy(policy),
              ::trelink::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           "linkage.model.key_reviews[0].match_probability"));
  policy.mutable_model()->mutable_key_reviews(0)->clear_match_probability();
  policy.mutable_model()->mutable_key_reviews(0)->add_disagreeing_tokens("t.county");
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageOptions options, LinkageOptions::FromPolicy(policy));
  TableBuilder builder;
  builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  EXPECT_THAT(LinkParticipants(builder.Build(), options),
              ::trelink::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                           "linkage.model.key_reviews[0].disagreeing_tokens: no stored batch "
                                           "carries the token \"t.county\""));
  // The default model's review is dropped where its key is not used.
  policy.clear_model();
  policy.clear_deterministic_keys();
  policy.add_deterministic_keys("nhs");
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageOptions defaults, LinkageOptions::FromPolicy(policy));
  EXPECT_TRUE(defaults.fellegi_sunter.model.key_reviews().empty());
}

TEST(LinkageEngineTest, AModelNamingAMissingTokenIsRefusedByField) {
  trelink::v1::LinkagePolicy policy;
  auto* model = policy.mutable_model();
  auto* comparison = model->add_comparisons();
  comparison->set_name("ssn");
  comparison->add_levels()->set_name("exact");
  comparison->mutable_levels(0)->add_tokens("t.ssn");
  model->add_blocking_rules()->add_tokens("t.dob");
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageOptions options, LinkageOptions::FromPolicy(policy));
  TableBuilder builder;
  builder.Record("social_care", "cin_referral", {{"person", kBaby}});
  const ParticipantTable table = builder.Build();
  EXPECT_THAT(LinkParticipants(table, options),
              ::trelink::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                           "linkage.model.comparisons[0].levels[0].tokens"));
  policy.mutable_model()->mutable_comparisons(0)->mutable_levels(0)->clear_tokens();
  EXPECT_THAT(LinkageOptions::FromPolicy(policy),
              ::trelink::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                           "linkage.model.comparisons[0].levels[0].tokens: empty"));
}

}  // namespace
}  // namespace trelink
