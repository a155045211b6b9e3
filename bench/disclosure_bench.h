// The parts of trelink-bench-disclosure that run on an EventIndex directly
// (no handler). Each prints its measurements with Report() and returns 0, or
// prints why it failed to stderr and returns 1.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/query_mix.h"
#include "common/aggregate/event_index.h"

namespace trelink {

struct AuditGrowthOptions {
  std::vector<size_t> checkpoints = {100, 300, 1000};  // earlier releases at which the audit is reported
  size_t window = 30;                                  // audits timed at each checkpoint
  uint64_t seed = 1;                                   // of the query variants
  size_t profile_tables = 0;  // first time AddCell and an unlimited Check over this many tables
};

// sdc mode at the default policy: Q1-Q7, then variants (QueryMix), released
// one after another as the handler does (Apply, then Record); the audit of
// the (n+1)-th to (n+window)-th releases is reported at each checkpoint n.
int BenchReleaseAudit(const EventIndex& index, const std::vector<NamedQuery>& queries,
                      const AuditGrowthOptions& options);

// dp mode at the default policy: each of `queries` released `runs` times with
// reproducible noise (SeededRandom keyed by `seed`: a benchmark's noise, never
// a release's), each released cell compared with its exact count.
int BenchDpError(const EventIndex& index, const std::vector<NamedQuery>& queries, int runs, uint64_t seed);

// How many complete runs of `queries` the default dp budget pays for: from the
// policy, and by charging a PrivacyLedger (one linkage generation per run,
// since a repeat on the same generation is free) until it refuses.
int BenchDpBudget(const std::vector<NamedQuery>& queries);

}  // namespace trelink
