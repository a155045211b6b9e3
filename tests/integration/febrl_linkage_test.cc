// Linkage on data trelink did not generate: the public FEBRL person files
// (../shared/benchmarks/febrl), loaded by configuration alone
// (deploy/febrl: catalogue, key schema, linkage policy; one configuration
// for both sets), through the real pseudonymiser, SQLite store and linker.
// The thresholds are the project's targets (DESIGN.md section 11).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "common/config/text_config.h"
#include "common/synth/linkage_evaluation.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

std::string FebrlDir() {
  const char* overridden = std::getenv("TRELINK_FEBRL_DIR");
  return overridden != nullptr ? overridden : std::string(TRELINK_SOURCE_DIR) + "/../shared/benchmarks/febrl";
}

std::string ConfigDir() { return std::string(TRELINK_SOURCE_DIR) + "/deploy/febrl"; }

absl::StatusOr<LinkageEvaluation> Evaluate(const std::vector<std::string>& files) {
  TRELINK_ASSIGN_OR_RETURN(SyntheticPopulation population, ReadFebrlFiles(files, "register"));
  TRELINK_ASSIGN_OR_RETURN(Catalogue catalogue, Catalogue::Load(ConfigDir() + "/catalogue.textproto"));
  trelink::v1::KeySchema schema;
  trelink::v1::LinkagePolicy policy;
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(ConfigDir() + "/key_schema.textproto", schema));
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(ConfigDir() + "/linkage.textproto", policy));
  TRELINK_ASSIGN_OR_RETURN(LinkageOptions options, LinkageOptions::FromPolicy(policy));
  options.AddCatalogueConstraints(catalogue.proto());
  return EvaluateLinkage(population, catalogue, schema, options, ::trelink::testing::MakeTempDir());
}

// The report's own estimate (made without ground truth: the social security
// number as the gold standard) against the truth.
void ExpectEstimateWithin(const LinkageEvaluation& evaluation, double tolerance) {
  ASSERT_GT(evaluation.report.quality().estimates_size(), 0);
  const auto& all = evaluation.report.quality().estimates(0);
  ASSERT_TRUE(all.estimated()) << all.method();
  EXPECT_NEAR(all.precision(), evaluation.final().precision(), tolerance);
  EXPECT_NEAR(all.recall(), evaluation.final().recall(), tolerance);
}

void Print(const char* set, const LinkageEvaluation& evaluation) {
  for (const PassQuality& pass : evaluation.passes) {
    std::printf("%s %-16s precision %.5f recall %.5f\n", set, pass.pass.c_str(), pass.counts.precision(),
                pass.counts.recall());
  }
}

TEST(FebrlLinkageTest, Febrl4TwoFilesLinkWithTargetPrecisionAndRecall) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation,
                               Evaluate({FebrlDir() + "/dataset4a.csv", FebrlDir() + "/dataset4b.csv"}));
  Print("FEBRL4", evaluation);
  EXPECT_EQ(evaluation.records, 10000u);
  EXPECT_EQ(evaluation.final().actual, 5000u);  // one duplicate per original
  EXPECT_GE(evaluation.final().precision(), 0.999);
  EXPECT_GE(evaluation.final().recall(), 0.995);
  ExpectEstimateWithin(evaluation, 0.02);
}

TEST(FebrlLinkageTest, Febrl3DeduplicatesWithTargetPrecisionAndRecall) {
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation, Evaluate({FebrlDir() + "/dataset3.csv"}));
  Print("FEBRL3", evaluation);
  EXPECT_EQ(evaluation.records, 5000u);
  EXPECT_GE(evaluation.final().precision(), 0.999);
  EXPECT_GE(evaluation.final().recall(), 0.99);
  ExpectEstimateWithin(evaluation, 0.02);
}

TEST(FebrlLinkageTest, UnreadableDatesAreMissingNotFatal) {
  // dataset4b.csv holds dates of birth that are not calendar dates; with
  // invalid_as_missing they are sent as missing and every row is stored.
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageEvaluation evaluation, Evaluate({FebrlDir() + "/dataset4b.csv"}));
  EXPECT_EQ(evaluation.records, 5000u);
  EXPECT_EQ(evaluation.final().actual, 0u);
  EXPECT_EQ(evaluation.final().predicted, 0u);  // nothing to link within the duplicates file
}

}  // namespace
}  // namespace trelink
