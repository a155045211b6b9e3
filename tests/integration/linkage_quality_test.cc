// Linkage quality against ground truth on trelink-synth populations at the
// default and the harsh error profile (common/synth/population.h), through
// the real pseudonymiser and linker libraries and the SQLite store;
// pairwise precision and recall are measured after every pass.
#include <gtest/gtest.h>

#include "common/linkage/pairwise_quality.h"
#include "common/synth/linkage_evaluation.h"
#include "common/pseudonym/key_schema.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

std::string CataloguePath() { return std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto"; }

absl::StatusOr<LinkageEvaluation> Evaluate(const ErrorProfile& errors) {
  PopulationOptions population_options;
  population_options.seed = 7;
  population_options.mothers = 4000;
  population_options.errors = errors;
  const SyntheticPopulation population = GeneratePopulation(population_options);
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(CataloguePath()));
  TRELINK_ASSIGN_OR_RETURN(LinkageOptions options, LinkageOptions::FromPolicy({}));
  options.AddCatalogueConstraints(catalogue.proto());
  TRELINK_ASSIGN_OR_RETURN(LinkageEvaluation evaluation,
                           EvaluateLinkage(population, catalogue, DefaultKeySchema(), options,
                                           ::trelink::testing::MakeTempDir()));
  EXPECT_EQ(evaluation.records, population.records());
  EXPECT_EQ(evaluation.report.participants().value(), evaluation.truth.size());
  EXPECT_GT(evaluation.report.generation(), 0u);
  PairCounts previous;
  for (const PassQuality& q : evaluation.passes) {
    const uint64_t added = q.counts.predicted - previous.predicted;
    const uint64_t added_correct = q.counts.correct - previous.correct;
    std::printf("%-32s precision %.5f (pairs added %llu, precision of added %.5f)  recall %.5f\n", q.pass.c_str(),
                q.counts.precision(), static_cast<unsigned long long>(added),
                added == 0 ? 1.0 : static_cast<double>(added_correct) / added, q.counts.recall());
    previous = q.counts;
  }
  return evaluation;
}

// The report's own estimate (made without ground truth) against the truth.
void ExpectEstimateWithin(const LinkageEvaluation& evaluation, double tolerance) {
  ASSERT_GT(evaluation.report.quality().estimates_size(), 0);
  const auto& all = evaluation.report.quality().estimates(0);
  ASSERT_EQ(all.scope(), "all");
  ASSERT_TRUE(all.estimated()) << all.method();
  EXPECT_NEAR(all.precision(), evaluation.final().precision(), tolerance);
  EXPECT_NEAR(all.recall(), evaluation.final().recall(), tolerance);
}

TEST(LinkageQualityTest, MeetsPrecisionAndRecallTargetsAtTheDefaultProfile) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation, Evaluate(ErrorProfile::Default()));
  ASSERT_EQ(evaluation.passes.size(), 6u);  // four keys, the name_dob review, the model
  for (const PassQuality& q : evaluation.passes) EXPECT_GE(q.counts.precision(), 0.999) << q.pass;
  EXPECT_GE(evaluation.final().recall(), 0.99);
  ExpectEstimateWithin(evaluation, 0.02);
}

TEST(LinkageQualityTest, MeetsPrecisionAndRecallTargetsAtTheHarshProfile) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation, Evaluate(ErrorProfile::Harsh()));
  EXPECT_GE(evaluation.final().precision(), 0.999);
  // DESIGN.md section 11's target; 0.9917 here (14,000 records), 0.9905 at
  // 1M (bench/run.sh).
  EXPECT_GE(evaluation.final().recall(), 0.99);
  ExpectEstimateWithin(evaluation, 0.02);
}

TEST(LinkageQualityTest, ErrorFreeDataLinksPerfectly) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation, Evaluate(ErrorProfile::None()));
  EXPECT_EQ(evaluation.final().precision(), 1.0);
  EXPECT_EQ(evaluation.final().recall(), 1.0);
}

}  // namespace
}  // namespace trelink
