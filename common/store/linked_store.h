// The linked store: batches of sealed-then-opened match keys with their
// record content, and linkage generations. An interface, so that a
// PostgreSQL implementation can follow the embedded SQLite one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/store/person_lineage.h"
#include "trelink/v1/linkage.pb.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {

// A validated batch, ready to store.
struct BatchToStore {
  std::string project;
  std::string dataset;
  std::string batch_id;
  // SHA-256 over the opened match keys and the content: equal for a resent
  // batch even though its sealed blob differs.
  std::string digest;
  const trelink::v1::SealedMatchKeys* keys = nullptr;
  const google::protobuf::RepeatedPtrField<trelink::v1::ContentRecord>* content = nullptr;
};

struct StoredBatch {
  std::string digest;
  uint32_t records = 0;
};

// One participant as linkage reads it.
struct ParticipantRow {
  int64_t participant_id;
  int64_t record_id;
  absl::string_view dataset;
  absl::string_view role;
  absl::string_view event;  // the record's event (a baby's birth is once per person)
  // The record's serialised trelink.v1.ContentRecord (its attributes give
  // the subgroups linkage errors are reported by).
  absl::string_view content;
  absl::Span<const std::string> key_names;  // aligned with the values in `keys`
  // A serialised trelink.v1.ParticipantKeys, left unparsed: linkage reads
  // millions of them and takes only a fingerprint of each value.
  absl::string_view keys;
};

// One record as the aggregator reads it, with the linkage ids of its
// participants in the given generation (aligned with roles).
struct EventRow {
  int64_t record_id;
  absl::string_view dataset;
  const trelink::v1::ContentRecord& content;
  absl::Span<const std::string> roles;
  absl::Span<const uint64_t> persons;
};

// What a generation changes in the assignments of the one before: the
// store keeps each assignment as an interval of generations, so a
// generation writes only what moved.
struct AssignmentChanges {
  // Participants that enter the generation, or move to another person.
  std::vector<PersonAssignment> assigned;
  // Participants whose previous assignment ends: they leave (withdrawn,
  // replaced, opted out) or move (they are in `assigned` too).
  std::vector<int64_t> ended;
};

struct WithdrawalCounts {
  uint32_t withdrawn = 0;          // records withdrawn now
  uint32_t already_withdrawn = 0;  // tokens whose records were withdrawn before
  uint32_t not_found = 0;          // tokens of no stored record
};

// The national data opt-out list a project applies: its version and the
// keyed hashes ("nhs" match key) of its NHS numbers.
struct OptOutList {
  std::string version;
  std::vector<std::string> nhs_keys;
  std::set<uint32_t> key_versions;  // the pseudonymiser key versions its numbers were keyed with
  uint64_t numbers = 0;             // distinct numbers (under the newest key version)
};

class LinkedStore {
 public:
  virtual ~LinkedStore() = default;

  virtual absl::StatusOr<std::optional<StoredBatch>> FindBatch(const std::string& project,
                                                               const std::string& dataset,
                                                               const std::string& batch_id) = 0;
  // Stores the whole batch in one transaction, or nothing; a record whose
  // token an earlier record carries replaces it (the earlier one is kept,
  // out of linkage and counts). Returns how many it replaced. ALREADY_EXISTS
  // if the batch id is taken.
  virtual absl::StatusOr<uint32_t> StoreBatch(const BatchToStore& batch) = 0;
  // Withdraws the records carrying `tokens` (every delivery of each), in one
  // transaction: kept for audit, out of linkage and counts.
  virtual absl::StatusOr<WithdrawalCounts> WithdrawRecords(absl::Span<const std::string> tokens) = 0;

  // Adds a batch of NHS numbers keyed with `key_version` to opt-out list
  // `version` of the project (a batch id already added under that key
  // version is a no-op); returns the distinct numbers the list holds now
  // under that key version. After a key rotation the same list is applied
  // again under the new version.
  virtual absl::StatusOr<uint64_t> StageOptOut(const std::string& project, const std::string& version,
                                               const std::string& batch_id, uint32_t key_version,
                                               absl::Span<const std::string> nhs_keys) = 0;
  // Makes list `version` the project's active one (FAILED_PRECONDITION if
  // nothing was staged under it); earlier lists are dropped.
  virtual absl::Status ActivateOptOut(const std::string& project, const std::string& version) = 0;
  virtual absl::StatusOr<std::optional<OptOutList>> ActiveOptOut(const std::string& project) = 0;
  // The key versions of the batches holding the project's live records.
  virtual absl::StatusOr<std::set<uint32_t>> LiveKeyVersions(const std::string& project) = 0;

  // Every key name any stored batch of the project carries, sorted.
  virtual absl::StatusOr<std::vector<std::string>> KeyNames(const std::string& project) = 0;

  // The project's live participants in id order; with `after`, only those
  // with a larger id (stored since: ids only grow).
  virtual absl::Status ForEachParticipant(const std::string& project,
                                          const std::function<void(const ParticipantRow&)>& visit,
                                          int64_t after = 0) = 0;
  // The participants of the project's records that are no longer live
  // (replaced or withdrawn), in id order.
  virtual absl::StatusOr<std::vector<int64_t>> RetiredParticipants(const std::string& project) = 0;

  // Writes a generation atomically: its report, the changes to the
  // previous generation's assignments, and the lineage of its persons
  // (persons kept under their id are not listed: the report counts them).
  // Fills report.generation. Lineage is kept for every generation,
  // assignments for the last few only.
  virtual absl::Status SaveGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                      const AssignmentChanges& changes, const std::vector<LineageEvent>& lineage) = 0;
  virtual absl::StatusOr<std::optional<trelink::v1::LinkageReport>> LatestReport(const std::string& project) = 0;
  // The person of every participant in the latest generation, in
  // participant id order; empty before the first generation. A participant
  // of a record replaced since (a correction, or the same record sent again
  // under a new key version) is given as the participant in its place in
  // the record that replaces it, so the person keeps its id.
  virtual absl::StatusOr<std::vector<PersonAssignment>> LatestAssignments(const std::string& project) = 0;
  // The latest generation's assignments as stored (no replacement
  // followed), in participant id order.
  virtual absl::StatusOr<std::vector<PersonAssignment>> CurrentAssignments(const std::string& project) = 0;
  // For each participant of a replaced record, the participant in its place
  // in the record that replaces it now (see LatestAssignments).
  virtual absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SuccessorParticipants(const std::string& project) = 0;
  // Records of the latest generation with their participants' persons.
  virtual absl::Status ForEachEvent(const std::string& project, uint64_t generation,
                                    const std::function<void(const EventRow&)>& visit) = 0;

  virtual absl::StatusOr<int64_t> CountRecords(const std::string& project) = 0;

  // The right to run linkage on a project: one holder at a time among all
  // the linkers that share the store, in this process or any other. Held
  // until the lease is destroyed or its holder ends, however it ends.
  class LinkageLease {
   public:
    virtual ~LinkageLease() = default;
  };
  // FAILED_PRECONDITION while another holder has the project's lease.
  virtual absl::StatusOr<std::unique_ptr<LinkageLease>> LeaseLinkage(const std::string& project) = 0;

  // SaveGeneration with every assignment of the generation given (ground
  // truth stores, tests): the changes are worked out against the current.
  absl::Status SaveCompleteGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                      std::vector<PersonAssignment> assignments,
                                      const std::vector<LineageEvent>& lineage);
};

// Helpers shared by the stores' implementations.

// What LeaseLinkage returns while another holder has the lease.
absl::Status LinkageInProgressError(const std::string& project);

// The SQL condition of a live record (alias r): neither replaced nor
// withdrawn; linkage and counts see only these. Both stores' schemas name
// the columns alike.
inline constexpr char kLiveRecordSql[] = "r.replaced_by IS NULL AND r.withdrawn_at IS NULL";
// Generations whose person assignments a store keeps; older ones keep only
// their report.
inline constexpr int64_t kGenerationsKept = 2;

// A participant of a record that was replaced or replaces one, with its
// place in the record (role) and what replaced the record, if anything.
struct PlacedParticipant {
  int64_t participant;
  int64_t record;
  std::string role;
  std::optional<int64_t> replaced_by;
};
// SuccessorParticipants from the participants of replaced and replacing
// records, in participant id order: each participant of a replaced record
// maps to the participant in the same place (role, and order within the
// role) of the record that replaces it now, following corrections of
// corrections.
absl::flat_hash_map<int64_t, int64_t> SuccessorsByPlace(const std::vector<PlacedParticipant>& placed);
// LatestAssignments from CurrentAssignments: replaced participants are
// given as their successors, and the result is in participant id order.
void FollowSuccessors(const absl::flat_hash_map<int64_t, int64_t>& successor, std::vector<PersonAssignment>& assignments);

// Builds ForEachEvent's rows from (record, participant) rows in record
// order.
class EventRowAssembler {
 public:
  explicit EventRowAssembler(const std::function<void(const EventRow&)>& visit) : visit_(visit) {}
  absl::Status Add(int64_t record, absl::string_view dataset, absl::string_view content, absl::string_view role,
                   uint64_t person);
  // Visits the last record.
  absl::Status Finish();

 private:
  const std::function<void(const EventRow&)>& visit_;
  int64_t current_ = -1;
  std::string dataset_;
  trelink::v1::ContentRecord content_;
  std::vector<std::string> roles_;
  std::vector<uint64_t> persons_;
};

// The changes that turn `previous` into `current` (both in participant id
// order, as CurrentAssignments gives them).
AssignmentChanges DiffAssignments(absl::Span<const PersonAssignment> previous,
                                  absl::Span<const PersonAssignment> current);

}  // namespace trelink
