#include "common/store/sqlite_linked_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <tuple>
#include <set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Each entry moves the schema from version i to i + 1. Never edit an entry
// that has shipped; append a new one.
const char* const kMigrations[] = {
    R"sql(
      CREATE TABLE batches(
        id INTEGER PRIMARY KEY,
        project TEXT NOT NULL, dataset TEXT NOT NULL, batch_id TEXT NOT NULL,
        digest BLOB NOT NULL, record_count INTEGER NOT NULL, key_version INTEGER NOT NULL,
        key_names TEXT NOT NULL, stored_at TEXT NOT NULL,
        UNIQUE(project, dataset, batch_id));
      CREATE TABLE records(
        id INTEGER PRIMARY KEY,
        batch INTEGER NOT NULL REFERENCES batches(id),
        ordinal INTEGER NOT NULL, event TEXT NOT NULL, event_date TEXT NOT NULL,
        content BLOB NOT NULL);
      CREATE INDEX records_batch ON records(batch);
      CREATE TABLE participants(
        id INTEGER PRIMARY KEY,
        record INTEGER NOT NULL REFERENCES records(id),
        role TEXT NOT NULL, keys BLOB NOT NULL);
      CREATE INDEX participants_record ON participants(record);
      CREATE TABLE generations(
        project TEXT NOT NULL, generation INTEGER NOT NULL,
        created_at TEXT NOT NULL, report BLOB NOT NULL,
        PRIMARY KEY(project, generation));
      CREATE TABLE person_links(
        project TEXT NOT NULL, generation INTEGER NOT NULL,
        participant INTEGER NOT NULL, person INTEGER NOT NULL,
        PRIMARY KEY(project, generation, participant)) WITHOUT ROWID;
    )sql",
    // Record identity: the keyed hash of the provider's record id; a later
    // delivery of the id replaces the record, a withdrawal withdraws it.
    // Both keep the row for audit.
    R"sql(
      ALTER TABLE records ADD COLUMN token BLOB;
      ALTER TABLE records ADD COLUMN replaced_by INTEGER;
      ALTER TABLE records ADD COLUMN withdrawn_at TEXT;
      CREATE INDEX records_token ON records(token) WHERE token IS NOT NULL;
    )sql",
    // National data opt-out lists: staged batch by batch, then activated.
    R"sql(
      CREATE TABLE opt_out_batches(
        project TEXT NOT NULL, list_version TEXT NOT NULL, key_version INTEGER NOT NULL, batch_id TEXT NOT NULL,
        PRIMARY KEY(project, list_version, key_version, batch_id)) WITHOUT ROWID;
      CREATE TABLE opt_out_numbers(
        project TEXT NOT NULL, list_version TEXT NOT NULL, key_version INTEGER NOT NULL, nhs_key BLOB NOT NULL,
        PRIMARY KEY(project, list_version, key_version, nhs_key)) WITHOUT ROWID;
      CREATE TABLE opt_out_active(
        project TEXT PRIMARY KEY, list_version TEXT NOT NULL, activated_at TEXT NOT NULL);
    )sql",
    // Lineage: what became of each person from one generation to the next.
    R"sql(
      CREATE TABLE person_lineage(
        project TEXT NOT NULL, generation INTEGER NOT NULL, person INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK(kind IN ('new', 'kept', 'merged', 'split', 'left')),
        other INTEGER,
        PRIMARY KEY(project, generation, person)) WITHOUT ROWID;
    )sql",
    // Assignments as intervals of generations, from valid_from until
    // valid_until (exclusive; NULL: still valid), so that a generation
    // writes only the assignments that change. Kept persons are no longer
    // listed in the lineage (the report counts them). The retired-records
    // index finds replaced and withdrawn records without a scan.
    R"sql(
      CREATE TABLE person_assignments(
        project TEXT NOT NULL, participant INTEGER NOT NULL,
        valid_from INTEGER NOT NULL, valid_until INTEGER, person INTEGER NOT NULL,
        PRIMARY KEY(project, participant, valid_from)) WITHOUT ROWID;
      INSERT INTO person_assignments
        SELECT l.project, l.participant, l.generation,
               CASE WHEN l.generation = (SELECT MAX(m.generation) FROM person_links m WHERE m.project = l.project)
                    THEN NULL ELSE l.generation + 1 END,
               l.person
        FROM person_links l;
      DROP TABLE person_links;
      CREATE INDEX person_assignments_ended ON person_assignments(project, valid_until)
        WHERE valid_until IS NOT NULL;
      CREATE INDEX records_retired ON records(batch) WHERE replaced_by IS NOT NULL OR withdrawn_at IS NOT NULL;
    )sql",
};
static_assert(std::size(kMigrations) == SqliteLinkedStore::kSchemaVersion,
              "kSchemaVersion is the number of migrations");

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteLinkedStore>> SqliteLinkedStore::Open(const std::string& path,
                                                                           const Clock& clock) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<SqliteLinkedStore> store(new SqliteLinkedStore(std::move(db), path, clock));
  TRELINK_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::Status SqliteLinkedStore::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_RETURN_IF_ERROR(db_->Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement read, db_->Prepare("SELECT MAX(version) FROM schema_version"));
  TRELINK_ASSIGN_OR_RETURN(bool row, read.Step());
  const int64_t current = row && !read.IsNull(0) ? read.Int(0) : 0;
  read.Reset();
  if (current > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("store schema version ", current,
                                                      " is newer than this linker understands (", kSchemaVersion,
                                                      "); upgrade the linker"));
  }
  for (int64_t v = current; v < kSchemaVersion; ++v) {
    TRELINK_RETURN_IF_ERROR(InTransaction(*db_, [&]() -> absl::Status {
      TRELINK_RETURN_IF_ERROR(db_->Exec(kMigrations[v]));
      return db_->Exec(absl::StrCat("INSERT INTO schema_version VALUES(", v + 1, ")"));
    }));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<StoredBatch>> SqliteLinkedStore::FindBatch(const std::string& project,
                                                                         const std::string& dataset,
                                                                         const std::string& batch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement find,
      db_->Prepare("SELECT digest, record_count FROM batches WHERE project=? AND dataset=? AND batch_id=?"));
  find.Bind(1, project).Bind(2, dataset).Bind(3, batch_id);
  TRELINK_ASSIGN_OR_RETURN(bool row, find.Step());
  if (!row) return std::nullopt;
  return StoredBatch{std::string(find.Blob(0)), static_cast<uint32_t>(find.Int(1))};
}

absl::StatusOr<uint32_t> SqliteLinkedStore::StoreBatch(const BatchToStore& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string now = absl::FormatTime(absl::RFC3339_sec, clock_.Now(), absl::UTCTimeZone());
  uint32_t replaced = 0;
  absl::Status stored = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement insert_batch,
        db_->Prepare("INSERT INTO batches(project, dataset, batch_id, digest, record_count, key_version, key_names, "
                     "stored_at) VALUES(?,?,?,?,?,?,?,?)"));
    insert_batch.Bind(1, batch.project).Bind(2, batch.dataset).Bind(3, batch.batch_id).BindBlob(4, batch.digest);
    insert_batch.Bind(5, static_cast<int64_t>(batch.keys->records_size()))
        .Bind(6, static_cast<int64_t>(batch.keys->key_version()))
        .Bind(7, absl::StrJoin(batch.keys->key_names(), "\n"))
        .Bind(8, now);
    TRELINK_RETURN_IF_ERROR(insert_batch.Run());
    const int64_t batch_row = sqlite3_last_insert_rowid(db_->handle());
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement insert_record,
        db_->Prepare("INSERT INTO records(batch, ordinal, event, event_date, content, token) VALUES(?,?,?,?,?,?)"));
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement insert_participant,
                             db_->Prepare("INSERT INTO participants(record, role, keys) VALUES(?,?,?)"));
    // The token is keyed per project and covers the dataset: equal tokens are
    // one record of one dataset.
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement replace,
        db_->Prepare("UPDATE records SET replaced_by = ? WHERE token = ? AND id <> ? AND replaced_by IS NULL"));
    std::string bytes;
    for (int r = 0; r < batch.keys->records_size(); ++r) {
      const trelink::v1::ContentRecord& content = batch.content->Get(r);
      content.SerializeToString(&bytes);
      insert_record.Bind(1, batch_row).Bind(2, r).Bind(3, content.event()).Bind(4, content.event_date());
      insert_record.BindBlob(5, bytes);
      const std::string& token = batch.keys->records(r).record_token();
      if (token.empty()) {
        insert_record.BindNull(6);
      } else {
        insert_record.BindBlob(6, token);
      }
      TRELINK_RETURN_IF_ERROR(insert_record.Run());
      const int64_t record_row = sqlite3_last_insert_rowid(db_->handle());
      if (!token.empty()) {
        replace.Bind(1, record_row).BindBlob(2, token).Bind(3, record_row);
        TRELINK_RETURN_IF_ERROR(replace.Run());
        replaced += static_cast<uint32_t>(sqlite3_changes(db_->handle()));
      }
      // The same record delivered under an earlier key version.
      for (const std::string& earlier : batch.keys->records(r).earlier_record_tokens()) {
        replace.Bind(1, record_row).BindBlob(2, earlier).Bind(3, record_row);
        TRELINK_RETURN_IF_ERROR(replace.Run());
        replaced += static_cast<uint32_t>(sqlite3_changes(db_->handle()));
      }
      for (const trelink::v1::ParticipantKeys& p : batch.keys->records(r).participants()) {
        p.SerializeToString(&bytes);
        insert_participant.Bind(1, record_row).Bind(2, p.role()).BindBlob(3, bytes);
        TRELINK_RETURN_IF_ERROR(insert_participant.Run());
      }
    }
    return absl::OkStatus();
  });
  if (!stored.ok()) return stored;
  return replaced;
}

absl::StatusOr<WithdrawalCounts> SqliteLinkedStore::WithdrawRecords(absl::Span<const std::string> tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string now = absl::FormatTime(absl::RFC3339_sec, clock_.Now(), absl::UTCTimeZone());
  WithdrawalCounts counts;
  absl::Status done = InTransaction(*db_, [&]() -> absl::Status {
    counts = WithdrawalCounts();
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement withdraw,
        db_->Prepare("UPDATE records SET withdrawn_at = ? WHERE token = ? AND withdrawn_at IS NULL"));
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement known, db_->Prepare("SELECT COUNT(*) FROM records WHERE token = ?"));
    for (const std::string& token : tokens) {
      withdraw.Bind(1, now).BindBlob(2, token);
      TRELINK_RETURN_IF_ERROR(withdraw.Run());
      if (sqlite3_changes(db_->handle()) > 0) {
        ++counts.withdrawn;
        continue;
      }
      known.BindBlob(1, token);
      TRELINK_RETURN_IF_ERROR(known.Step().status());
      ++(known.Int(0) > 0 ? counts.already_withdrawn : counts.not_found);
      known.Reset();
    }
    return absl::OkStatus();
  });
  if (!done.ok()) return done;
  return counts;
}

absl::StatusOr<uint64_t> SqliteLinkedStore::StageOptOut(const std::string& project, const std::string& version,
                                                         const std::string& batch_id, uint32_t key_version,
                                                         absl::Span<const std::string> nhs_keys) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t numbers = 0;
  absl::Status staged = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement batch,
                             db_->Prepare("INSERT OR IGNORE INTO opt_out_batches VALUES(?,?,?,?)"));
    batch.Bind(1, project).Bind(2, version).Bind(3, static_cast<int64_t>(key_version)).Bind(4, batch_id);
    TRELINK_RETURN_IF_ERROR(batch.Run());
    if (sqlite3_changes(db_->handle()) > 0) {
      TRELINK_ASSIGN_OR_RETURN(SqliteStatement number,
                               db_->Prepare("INSERT OR IGNORE INTO opt_out_numbers VALUES(?,?,?,?)"));
      for (const std::string& key : nhs_keys) {
        number.Bind(1, project).Bind(2, version).Bind(3, static_cast<int64_t>(key_version)).BindBlob(4, key);
        TRELINK_RETURN_IF_ERROR(number.Run());
      }
    }
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement count,
        db_->Prepare("SELECT COUNT(*) FROM opt_out_numbers WHERE project = ? AND list_version = ? AND key_version = ?"));
    count.Bind(1, project).Bind(2, version).Bind(3, static_cast<int64_t>(key_version));
    TRELINK_RETURN_IF_ERROR(count.Step().status());
    numbers = static_cast<uint64_t>(count.Int(0));
    return absl::OkStatus();
  });
  if (!staged.ok()) return staged;
  return numbers;
}

absl::Status SqliteLinkedStore::ActivateOptOut(const std::string& project, const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string now = absl::FormatTime(absl::RFC3339_sec, clock_.Now(), absl::UTCTimeZone());
  return InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_ASSIGN_OR_RETURN(
        SqliteStatement staged,
        db_->Prepare("SELECT COUNT(*) FROM opt_out_batches WHERE project = ? AND list_version = ?"));
    staged.Bind(1, project).Bind(2, version);
    TRELINK_RETURN_IF_ERROR(staged.Step().status());
    if (staged.Int(0) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("opt-out list ", version, ": no batch was loaded"));
    }
    for (const char* drop : {"DELETE FROM opt_out_numbers WHERE project = ? AND list_version <> ?",
                             "DELETE FROM opt_out_batches WHERE project = ? AND list_version <> ?"}) {
      TRELINK_ASSIGN_OR_RETURN(SqliteStatement earlier, db_->Prepare(drop));
      earlier.Bind(1, project).Bind(2, version);
      TRELINK_RETURN_IF_ERROR(earlier.Run());
    }
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement activate,
                             db_->Prepare("INSERT OR REPLACE INTO opt_out_active VALUES(?,?,?)"));
    activate.Bind(1, project).Bind(2, version).Bind(3, now);
    return activate.Run();
  });
}

absl::StatusOr<std::optional<OptOutList>> SqliteLinkedStore::ActiveOptOut(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      db_->Prepare("SELECT a.list_version, n.key_version, n.nhs_key FROM opt_out_active a LEFT JOIN opt_out_numbers n "
                   "ON n.project = a.project AND n.list_version = a.list_version WHERE a.project = ?"));
  query.Bind(1, project);
  std::optional<OptOutList> list;
  std::map<uint32_t, uint64_t> per_key_version;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    if (!list.has_value()) list.emplace().version = std::string(query.Text(0));
    if (query.IsNull(2)) continue;
    list->nhs_keys.emplace_back(query.Blob(2));
    const auto key_version = static_cast<uint32_t>(query.Int(1));
    list->key_versions.insert(key_version);
    ++per_key_version[key_version];
  }
  // The list as last keyed: after a rotation, under the newest version.
  if (list.has_value() && !per_key_version.empty()) list->numbers = per_key_version.rbegin()->second;
  return list;
}

absl::StatusOr<std::set<uint32_t>> SqliteLinkedStore::LiveKeyVersions(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      db_->Prepare("SELECT DISTINCT b.key_version FROM batches b WHERE b.project = ? AND EXISTS "
                   "(SELECT 1 FROM records r WHERE r.batch = b.id AND " + std::string(kLiveRecordSql) + ")"));
  query.Bind(1, project);
  std::set<uint32_t> versions;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    versions.insert(static_cast<uint32_t>(query.Int(0)));
  }
  return versions;
}

absl::StatusOr<std::vector<std::string>> SqliteLinkedStore::KeyNames(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement query,
                           db_->Prepare("SELECT DISTINCT key_names FROM batches WHERE project = ?"));
  query.Bind(1, project);
  std::set<std::string> names;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    for (absl::string_view name : absl::StrSplit(query.Text(0), '\n')) names.emplace(name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

absl::Status SqliteLinkedStore::ForEachParticipant(const std::string& project,
                                                   const std::function<void(const ParticipantRow&)>& visit,
                                                   int64_t after) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      // CROSS JOIN keeps participants as the outer loop: a rowid scan that is
      // already in id order, so SQLite sorts nothing (the blobs are large).
      db_->Prepare("SELECT b.id, b.dataset, b.key_names, p.id, p.record, p.role, p.keys, r.event, r.content "
                   "FROM participants p CROSS JOIN records r CROSS JOIN batches b "
                   "WHERE p.id > ? AND p.record = r.id AND r.batch = b.id AND b.project = ? AND " +
                   std::string(kLiveRecordSql) + " ORDER BY p.id"));
  query.Bind(1, after).Bind(2, project);
  absl::flat_hash_map<int64_t, std::vector<std::string>> key_names;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    auto [it, inserted] = key_names.try_emplace(query.Int(0));
    if (inserted) it->second = absl::StrSplit(query.Text(2), '\n');
    visit(ParticipantRow{query.Int(3), query.Int(4), query.Text(1), query.Text(5), query.Text(7), query.Blob(8),
                         it->second, query.Blob(6)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> SqliteLinkedStore::RetiredParticipants(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      // The condition is the records_retired index's, so SQLite reads the
      // index, not every record.
      db_->Prepare("SELECT p.id FROM records r JOIN batches b ON r.batch = b.id JOIN participants p ON p.record = r.id "
                   "WHERE b.project = ? AND (r.replaced_by IS NOT NULL OR r.withdrawn_at IS NOT NULL) ORDER BY p.id"));
  query.Bind(1, project);
  std::vector<int64_t> retired;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    retired.push_back(query.Int(0));
  }
  return retired;
}

absl::Status SqliteLinkedStore::SaveGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                               const AssignmentChanges& changes,
                                               const std::vector<LineageEvent>& lineage) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement latest,
                             db_->Prepare("SELECT COALESCE(MAX(generation), 0) FROM generations WHERE project=?"));
    latest.Bind(1, project);
    TRELINK_RETURN_IF_ERROR(latest.Step().status());
    const int64_t generation = latest.Int(0) + 1;
    latest.Reset();
    report.set_generation(static_cast<uint64_t>(generation));
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement insert_generation,
                             db_->Prepare("INSERT INTO generations VALUES(?,?,?,?)"));
    insert_generation.Bind(1, project).Bind(2, generation).Bind(3, report.created_at());
    insert_generation.BindBlob(4, report.SerializeAsString());
    TRELINK_RETURN_IF_ERROR(insert_generation.Run());
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement end,
                             db_->Prepare("UPDATE person_assignments SET valid_until=? "
                                          "WHERE project=? AND participant=? AND valid_until IS NULL"));
    for (int64_t participant : changes.ended) {
      end.Bind(1, generation).Bind(2, project).Bind(3, participant);
      TRELINK_RETURN_IF_ERROR(end.Run());
    }
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement insert,
                             db_->Prepare("INSERT INTO person_assignments VALUES(?,?,?,NULL,?)"));
    for (const PersonAssignment& a : changes.assigned) {
      insert.Bind(1, project).Bind(2, a.participant_id).Bind(3, generation);
      insert.Bind(4, static_cast<int64_t>(a.person_id));
      TRELINK_RETURN_IF_ERROR(insert.Run());
    }
    TRELINK_RETURN_IF_ERROR(InsertLineage(project, generation, lineage));
    // Assignments that ended before the oldest generation kept.
    TRELINK_ASSIGN_OR_RETURN(SqliteStatement prune,
                             db_->Prepare("DELETE FROM person_assignments WHERE project=? AND "
                                          "valid_until IS NOT NULL AND valid_until<=?"));
    prune.Bind(1, project).Bind(2, generation - kGenerationsKept + 1);
    return prune.Run();
  });
}

absl::Status SqliteLinkedStore::InsertLineage(const std::string& project, int64_t generation,
                                              const std::vector<LineageEvent>& lineage) {
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT INTO person_lineage VALUES(?,?,?,?,?)"));
  for (const LineageEvent& e : lineage) {
    if (e.kind == LineageKind::kKept) continue;
    insert.Bind(1, project).Bind(2, generation).Bind(3, static_cast<int64_t>(e.person_id));
    insert.Bind(4, LineageKindName(e.kind));
    // Left unbound, `other` is NULL (Run clears the bindings).
    if (e.other_person_id != 0) insert.Bind(5, static_cast<int64_t>(e.other_person_id));
    TRELINK_RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PersonAssignment>> SqliteLinkedStore::LatestAssignments(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(std::vector<PersonAssignment> assignments, CurrentAssignmentsLocked(project));
  TRELINK_ASSIGN_OR_RETURN(auto successor, SuccessorParticipantsLocked(project));
  FollowSuccessors(successor, assignments);
  return assignments;
}

absl::StatusOr<std::vector<PersonAssignment>> SqliteLinkedStore::CurrentAssignments(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  return CurrentAssignmentsLocked(project);
}

absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SqliteLinkedStore::SuccessorParticipants(
    const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  return SuccessorParticipantsLocked(project);
}

absl::StatusOr<std::vector<PersonAssignment>> SqliteLinkedStore::CurrentAssignmentsLocked(const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(SqliteStatement query,
                           db_->Prepare("SELECT participant, person FROM person_assignments "
                                        "WHERE project=? AND valid_until IS NULL ORDER BY participant"));
  query.Bind(1, project);
  std::vector<PersonAssignment> assignments;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    assignments.push_back({query.Int(0), static_cast<uint64_t>(query.Int(1))});
  }
  return assignments;
}

// For each participant of a replaced record, the participant in the same
// place (role, and order within the role) of the record that replaces it
// now, following corrections of corrections. Read under mu_.
absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SqliteLinkedStore::SuccessorParticipantsLocked(
    const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      db_->Prepare("SELECT p.id, p.record, p.role, r.replaced_by FROM participants p "
                   "JOIN records r ON p.record = r.id JOIN batches b ON r.batch = b.id "
                   "WHERE b.project = ? AND (r.replaced_by IS NOT NULL OR r.id IN "
                   "(SELECT replaced_by FROM records WHERE replaced_by IS NOT NULL)) ORDER BY p.id"));
  query.Bind(1, project);
  std::vector<PlacedParticipant> placed;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    placed.push_back({query.Int(0), query.Int(1), std::string(query.Text(2)),
                      query.IsNull(3) ? std::nullopt : std::optional<int64_t>(query.Int(3))});
  }
  return SuccessorsByPlace(placed);
}

absl::StatusOr<std::optional<trelink::v1::LinkageReport>> SqliteLinkedStore::LatestReport(
    const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      db_->Prepare("SELECT report FROM generations WHERE project=? ORDER BY generation DESC LIMIT 1"));
  query.Bind(1, project);
  TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::nullopt;
  trelink::v1::LinkageReport report;
  const absl::string_view blob = query.Blob(0);
  if (!report.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return absl::DataLossError("store: unreadable linkage report");
  }
  return report;
}

absl::Status SqliteLinkedStore::ForEachEvent(const std::string& project, uint64_t generation,
                                             const std::function<void(const EventRow&)>& visit) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      // Records drive in rowid order; no sort (see ForEachParticipant).
      db_->Prepare("SELECT r.id, b.dataset, r.content, p.role, l.person "
                   "FROM records r CROSS JOIN batches b CROSS JOIN participants p CROSS JOIN person_assignments l "
                   "WHERE r.batch = b.id AND p.record = r.id AND l.project = b.project AND l.participant = p.id "
                   "AND l.valid_from <= ?1 AND (l.valid_until IS NULL OR l.valid_until > ?1) "
                   "AND b.project = ?2 AND r.withdrawn_at IS NULL ORDER BY r.id, p.id"));
  query.Bind(1, static_cast<int64_t>(generation)).Bind(2, project);
  EventRowAssembler events(visit);
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    TRELINK_RETURN_IF_ERROR(
        events.Add(query.Int(0), query.Text(1), query.Blob(2), query.Text(3), static_cast<uint64_t>(query.Int(4))));
  }
  return events.Finish();
}

absl::StatusOr<int64_t> SqliteLinkedStore::CountRecords(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      SqliteStatement query,
      db_->Prepare("SELECT COUNT(*) FROM records r JOIN batches b ON r.batch = b.id WHERE b.project = ? AND " +
                   std::string(kLiveRecordSql)));
  query.Bind(1, project);
  TRELINK_RETURN_IF_ERROR(query.Step().status());
  return query.Int(0);
}

namespace {

// FNV-1a: the same name for a project's lock file in every process.
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

class FileLinkageLease final : public LinkedStore::LinkageLease {
 public:
  explicit FileLinkageLease(int fd) : fd_(fd) {}
  ~FileLinkageLease() override { close(fd_); }

 private:
  const int fd_;
};

// Stores that live in memory are seen by one process only.
class InProcessLinkageLease final : public LinkedStore::LinkageLease {
 public:
  static bool Take(std::string key) {
    absl::MutexLock lock(&mu_);
    return held().insert(std::move(key)).second;
  }
  explicit InProcessLinkageLease(std::string key) : key_(std::move(key)) {}
  ~InProcessLinkageLease() override {
    absl::MutexLock lock(&mu_);
    held().erase(key_);
  }

 private:
  static std::set<std::string>& held() {
    static auto* keys = new std::set<std::string>();
    return *keys;
  }
  static absl::Mutex mu_;
  const std::string key_;
};
absl::Mutex InProcessLinkageLease::mu_(absl::kConstInit);

}  // namespace

absl::StatusOr<std::unique_ptr<LinkedStore::LinkageLease>> SqliteLinkedStore::LeaseLinkage(const std::string& project) {
  if (path_.empty() || path_ == ":memory:" || path_.rfind("file:", 0) == 0) {
    std::string key = absl::StrFormat("%p/%s", static_cast<const void*>(this), project);
    if (!InProcessLinkageLease::Take(key)) return LinkageInProgressError(project);
    return std::make_unique<InProcessLinkageLease>(std::move(key));
  }
  const std::string lock_file = absl::StrFormat("%s.linkage-%016x.lock", path_, StableHash(project));
  const int fd = open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open the linkage lock file ", lock_file, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) return LinkageInProgressError(project);
    return absl::UnavailableError(absl::StrCat("cannot lock ", lock_file, ": ", std::strerror(error)));
  }
  return std::make_unique<FileLinkageLease>(fd);
}

}  // namespace trelink
