// Linkage quality against ground truth: a seeded synthetic population with
// realistic identifier errors goes through the real pseudonymiser and linker
// libraries and the SQLite store; pairwise precision and recall are measured
// after every pass.
#include <gtest/gtest.h>

#include "common/linkage/linkage_run.h"
#include "common/linkage/pairwise_quality.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;

const FixedClock kClock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));

std::string CataloguePath() { return std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto"; }

struct PassQuality {
  std::string pass;
  PairCounts counts;
};

TEST(LinkageQualityTest, MeetsPrecisionAndRecallTargetsOnSyntheticData) {
  PopulationOptions population_options;
  population_options.seed = 7;
  population_options.mothers = 4000;
  const SyntheticPopulation population = GeneratePopulation(population_options);

  TRELINK_ASSERT_OK_AND_ASSIGN(Catalogue catalogue, Catalogue::Load(CataloguePath()));
  LinkerKeyPair linker = ::trelink::testing::NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(
      auto pseudonymiser,
      Pseudonymiser::Create(::trelink::testing::NewKeyset(), linker.public_key(), DefaultKeySchema(), {}, kClock));
  const std::string dir = ::trelink::testing::MakeTempDir();
  TRELINK_ASSERT_OK_AND_ASSIGN(auto store, SqliteLinkedStore::Open(dir + "/linked.db", kClock));
  BatchIngester ingester(catalogue, linker, *store, 10000);
  TRELINK_ASSERT_OK_AND_ASSIGN(PipelineTotals totals,
                               IngestPopulation(population, catalogue, *pseudonymiser, ingester, "demo", 1000));
  EXPECT_EQ(totals.records, population.records());

  std::vector<PassQuality> passes;
  TRELINK_ASSERT_OK_AND_ASSIGN(ParticipantTable table, LoadParticipants(*store, "demo"));
  ASSERT_EQ(table.size(), totals.truth.size());
  auto observer = [&](const std::string& pass, UnionFind& sets) {
    std::vector<uint64_t> predicted(table.size());
    for (uint32_t p = 0; p < table.size(); ++p) predicted[p] = sets.Find(p);
    passes.push_back({pass, CountPairs(predicted, totals.truth)});
  };
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkageOptions options, LinkageOptions::FromPolicy({}));
  options.AddCatalogueConstraints(catalogue.proto());
  LinkageRunContext context{store.get(), &kClock, nullptr, 10};
  TRELINK_ASSERT_OK_AND_ASSIGN(trelink::v1::LinkageReport report, RunLinkage(context, "demo", options, observer));

  ASSERT_EQ(passes.size(), 5u);
  PairCounts previous;
  for (const PassQuality& q : passes) {
    const uint64_t added = q.counts.predicted - previous.predicted;
    const uint64_t added_correct = q.counts.correct - previous.correct;
    const double pass_precision = added == 0 ? 1.0 : static_cast<double>(added_correct) / added;
    std::printf("%-32s precision %.5f (pairs added %llu, precision of added %.5f)  recall %.5f\n", q.pass.c_str(),
                q.counts.precision(), static_cast<unsigned long long>(added), pass_precision, q.counts.recall());
    EXPECT_GE(q.counts.precision(), 0.999) << q.pass;
    previous = q.counts;
  }
  EXPECT_GE(passes.back().counts.recall(), 0.99);
  EXPECT_GT(report.generation(), 0u);
  EXPECT_EQ(report.participants().value(), table.size());
  std::printf("%s\n", report.probabilistic().ShortDebugString().c_str());
}

}  // namespace
}  // namespace trelink
