// The linked store on a PostgreSQL server: the scale-out path, for when one
// machine's disk or one process is not enough. Several linkers and
// aggregators may share one database: writes to a project are serialised by
// a transaction-scoped advisory lock on the project, so participant ids
// still only grow in the order batches commit, and every write is one
// transaction. Bulk rows go in with COPY. The schema is migrated at open
// (under a session advisory lock, so replicas starting together migrate
// once).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/store/linked_store.h"
#include "common/store/postgres_db.h"
#include "common/time/clock.h"

namespace trelink {

class PostgresLinkedStore final : public LinkedStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Connects with a libpq connection string and migrates the schema.
  static absl::StatusOr<std::unique_ptr<PostgresLinkedStore>> Open(const std::string& conninfo, const Clock& clock);

  absl::StatusOr<std::optional<StoredBatch>> FindBatch(const std::string& project, const std::string& dataset,
                                                       const std::string& batch_id) override;
  absl::StatusOr<uint32_t> StoreBatch(const BatchToStore& batch) override;
  absl::StatusOr<WithdrawalCounts> WithdrawRecords(absl::Span<const std::string> tokens) override;
  absl::StatusOr<uint64_t> StageOptOut(const std::string& project, const std::string& version,
                                       const std::string& batch_id, uint32_t key_version,
                                       absl::Span<const std::string> nhs_keys) override;
  absl::StatusOr<std::set<uint32_t>> LiveKeyVersions(const std::string& project) override;
  absl::Status ActivateOptOut(const std::string& project, const std::string& version) override;
  absl::StatusOr<std::optional<OptOutList>> ActiveOptOut(const std::string& project) override;
  absl::StatusOr<std::vector<std::string>> KeyNames(const std::string& project) override;
  absl::Status ForEachParticipant(const std::string& project, const std::function<void(const ParticipantRow&)>& visit,
                                  int64_t after = 0) override;
  absl::StatusOr<std::vector<int64_t>> RetiredParticipants(const std::string& project) override;
  absl::Status SaveGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                              const AssignmentChanges& changes, const std::vector<LineageEvent>& lineage) override;
  absl::StatusOr<std::optional<trelink::v1::LinkageReport>> LatestReport(const std::string& project) override;
  absl::StatusOr<std::vector<PersonAssignment>> LatestAssignments(const std::string& project) override;
  absl::StatusOr<std::vector<PersonAssignment>> CurrentAssignments(const std::string& project) override;
  absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SuccessorParticipants(const std::string& project) override;
  absl::Status ForEachEvent(const std::string& project, uint64_t generation,
                            const std::function<void(const EventRow&)>& visit) override;
  absl::StatusOr<int64_t> CountRecords(const std::string& project) override;
  // A session advisory lock on a connection of the lease's own: the server
  // releases it when the lease closes the connection or loses it.
  absl::StatusOr<std::unique_ptr<LinkageLease>> LeaseLinkage(const std::string& project) override;

 private:
  PostgresLinkedStore(std::unique_ptr<PgConnection> db, std::string conninfo, const Clock& clock)
      : db_(std::move(db)), conninfo_(std::move(conninfo)), clock_(clock) {}
  absl::Status Migrate();
  absl::Status LockProject(const std::string& project);
  absl::StatusOr<std::vector<PersonAssignment>> CurrentAssignmentsLocked(const std::string& project);
  absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SuccessorParticipantsLocked(const std::string& project);

  void AnalyzeIfGrown(int64_t records);

  std::mutex mu_;  // one statement at a time on the connection
  // Records this process stored since it last refreshed the planner's
  // statistics, and how many it had stored then.
  int64_t stored_since_analyze_ = 0;
  int64_t stored_at_analyze_ = 0;
  std::unique_ptr<PgConnection> db_;
  const std::string conninfo_;
  const Clock& clock_;
};

}  // namespace trelink
