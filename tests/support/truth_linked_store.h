// A linked store for tests that need answers, not linkage: a synthetic
// population pseudonymised and ingested in process, then linked by its
// ground truth (one generation), so every person is exactly who they are.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/linkage/linkage_run.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink::testing {

// A store in a fresh temporary directory holding `population` under
// `project`, linked by the truth; null (with a test failure) on error.
// `assignments`, when given, receives the generation's person of every
// participant (to save another generation of the same links).
inline std::unique_ptr<SqliteLinkedStore> StoreLinkedByTruth(const SyntheticPopulation& population,
                                                             const Catalogue& catalogue, const Clock& clock,
                                                             const std::string& project,
                                                             std::vector<PersonAssignment>* assignments = nullptr) {
  LinkerKeyPair linker = NewLinkerKeys();
  auto pseudonymiser = Pseudonymiser::Create(NewKeyset(), linker.public_key(), DefaultKeySchema(), {}, clock);
  auto store = SqliteLinkedStore::Open(MakeTempDir() + "/linked.db", clock);
  EXPECT_THAT(pseudonymiser, IsOk());
  EXPECT_THAT(store, IsOk());
  if (!pseudonymiser.ok() || !store.ok()) return nullptr;
  BatchIngester ingester(catalogue, linker, **store, 10000);
  auto totals = IngestPopulation(population, catalogue, **pseudonymiser, ingester, project, 1000);
  auto participants = LoadParticipants(**store, project);
  EXPECT_THAT(totals, IsOk());
  EXPECT_THAT(participants, IsOk());
  if (!totals.ok() || !participants.ok()) return nullptr;
  std::vector<PersonAssignment> truth;
  for (uint32_t p = 0; p < participants->size(); ++p) {
    truth.push_back({participants->participant_id(p), totals->truth[p]});
  }
  if (assignments != nullptr) *assignments = truth;
  trelink::v1::LinkageReport report;
  const absl::Status saved = (*store)->SaveCompleteGeneration(project, report, truth, {});
  EXPECT_THAT(saved, IsOk());
  return saved.ok() ? *std::move(store) : nullptr;
}

}  // namespace trelink::testing
