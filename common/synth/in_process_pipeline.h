// Runs a synthetic population through the real pseudonymiser and linker
// libraries in one process (no network), for linkage-quality tests and
// benchmarks. The services do the same over gRPC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "common/linkage/batch_ingest.h"
#include "common/pseudonym/pseudonymiser.h"
#include "common/synth/population.h"

namespace trelink {

struct PipelineTotals {
  uint64_t records = 0;
  uint64_t batches = 0;
  // The true person of every stored participant, in store order.
  std::vector<uint64_t> truth;
};

// Pseudonymises and ingests every dataset of `population` in batches of
// `batch_size` under `project`, the two stages on two threads. Batches are
// stored in order, so participants are stored in `truth` order. Records
// carry their record_id; batch ids are "<dataset>:<extract>:<row>".
absl::StatusOr<PipelineTotals> IngestPopulation(const SyntheticPopulation& population, const Catalogue& catalogue,
                                                const Pseudonymiser& pseudonymiser, const BatchIngester& ingester,
                                                const std::string& project, int batch_size,
                                                const std::string& extract = "synth");

}  // namespace trelink
