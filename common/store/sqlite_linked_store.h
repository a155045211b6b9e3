// The embedded linked store: SQLite in WAL mode, one transaction per batch,
// versioned schema migrations applied at open.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "common/store/linked_store.h"
#include "common/store/sqlite_db.h"
#include "common/time/clock.h"

namespace trelink {

class SqliteLinkedStore final : public LinkedStore {
 public:
  // One more with each migration appended to kMigrations (the .cc checks).
  static constexpr int kSchemaVersion = 5;

  // Opens or creates the store at `path` and migrates it to kSchemaVersion.
  static absl::StatusOr<std::unique_ptr<SqliteLinkedStore>> Open(const std::string& path, const Clock& clock);

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
  // A lock file per project next to the database file (flock: released by
  // the kernel when the holder ends); in-process for an in-memory store.
  absl::StatusOr<std::unique_ptr<LinkageLease>> LeaseLinkage(const std::string& project) override;

 private:
  SqliteLinkedStore(std::unique_ptr<SqliteDb> db, std::string path, const Clock& clock)
      : db_(std::move(db)), path_(std::move(path)), clock_(clock) {}
  absl::Status Migrate();
  absl::StatusOr<std::vector<PersonAssignment>> CurrentAssignmentsLocked(const std::string& project);
  absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SuccessorParticipantsLocked(const std::string& project);
  absl::Status InsertLineage(const std::string& project, int64_t generation,
                             const std::vector<LineageEvent>& lineage);

  std::mutex mu_;  // one writer; SQLite connections are not shared across threads here
  std::unique_ptr<SqliteDb> db_;
  const std::string path_;
  const Clock& clock_;
};

}  // namespace trelink
