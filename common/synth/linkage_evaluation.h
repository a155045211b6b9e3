// Linkage quality against ground truth, end to end in one process: a
// population (synthetic, or a public benchmark file with known duplicates)
// goes through the real pseudonymiser and linker libraries and the SQLite
// store, is linked, and every pass is scored pairwise. Shared by the
// linkage benchmarks and the quality tests, so both measure the same way.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "common/linkage/linkage_engine.h"
#include "common/linkage/pairwise_quality.h"
#include "common/synth/population.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {

struct PassQuality {
  std::string pass;
  PairCounts counts;  // cumulative, after the pass
};

struct LinkageEvaluation {
  std::vector<PassQuality> passes;
  trelink::v1::LinkageReport report;
  double ingest_seconds = 0;
  double link_seconds = 0;  // the linkage run, quality measurement excluded
  uint64_t records = 0;
  // The true person of every stored participant, in store order.
  std::vector<uint64_t> truth;
  PairCounts final() const { return passes.empty() ? PairCounts{} : passes.back().counts; }
};

// Runs `population` through pseudonymisation (with `schema`), ingest into a
// fresh store under `dir` and linkage with `options`.
absl::StatusOr<LinkageEvaluation> EvaluateLinkage(const SyntheticPopulation& population, const Catalogue& catalogue,
                                                  const trelink::v1::KeySchema& schema,
                                                  const LinkageOptions& options, const std::string& dir);

// Reads FEBRL person files (rec_id "rec-N-org" / "rec-N-dup-K": entity N)
// as one dataset named `dataset`, the entity as each record's truth.
absl::StatusOr<SyntheticPopulation> ReadFebrlFiles(const std::vector<std::string>& paths,
                                                   const std::string& dataset);

}  // namespace trelink
