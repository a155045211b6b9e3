// One linkage run over a project's stored records: load participants, link,
// give every person the linkage id of the previous generation's person it
// continues, or a fresh random one (never derived from a pseudonym; see
// person_ids.h), and save the result as a new generation with its lineage
// and disclosure-controlled report.
//
// A run is full or incremental. A full run links every live record afresh,
// fits the probabilistic model and estimates the quality. An incremental
// run starts from the previous generation as the caller kept it in memory
// (LinkageState): it loads only the participants stored since, retires
// those whose records were replaced or withdrawn, releases the persons that
// lost a record into their participants, and links the new and released
// participants into the persons that stayed whole, with the model of the
// last full run. A person no change touches keeps its id and its links as
// they were; the generation stores only the assignments that changed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/linkage/linkage_engine.h"
#include "common/store/linked_store.h"
#include "common/time/clock.h"

namespace trelink {

// What a full or incremental run leaves for the next incremental one: the
// project's participants in memory as linked, and the model.
struct LinkageState {
  std::string project;
  uint64_t generation = 0;  // the generation this is; 0: none, a full run comes next
  std::unique_ptr<ParticipantTable> table;
  std::vector<uint32_t> set_of;      // per table participant, its set
  std::vector<uint64_t> person_of;   // per table participant, its person (0: retired or opted out)
  int64_t last_participant = 0;      // the largest participant id loaded
  std::optional<FittedModel> fitted;
  uint64_t fitted_at_generation = 0;
  trelink::v1::QualityReport quality;  // as estimated then (disclosure-controlled)

  void Clear() { *this = LinkageState(); }
};

struct LinkageRunContext {
  LinkedStore* store = nullptr;
  const Clock* clock = nullptr;
  // Source of linkage ids; default: libsodium's CSPRNG. Injectable for tests.
  std::function<uint64_t()> random_id;
  uint32_t disclosure_threshold = 10;
  // Kept by the caller from run to run; null: every run is full.
  LinkageState* state = nullptr;
  // A full run even when an incremental one could be made.
  bool full = false;
  // An incremental run relinks at most this share of the live participants;
  // above it the run is full (the model is refitted on the larger data).
  double max_incremental_share = 0.25;
};

// Holds the project's linkage lease (LinkedStore::LeaseLinkage) while it
// runs: FAILED_PRECONDITION if another linker sharing the store is linking
// the project.
absl::StatusOr<trelink::v1::LinkageReport> RunLinkage(const LinkageRunContext& context, const std::string& project,
                                                      const LinkageOptions& options,
                                                      const PassObserver& observer = nullptr);

// Loads a project's participants from the store, keeping the record
// attributes `subgroup_attributes` of each.
absl::StatusOr<ParticipantTable> LoadParticipants(LinkedStore& store, const std::string& project,
                                                  std::vector<std::string> subgroup_attributes = {});

}  // namespace trelink
