#include "common/store/postgres_linked_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Each entry moves the schema from version i to i + 1. Never edit an entry
// that has shipped; append a new one. The same data model as the SQLite
// store's fifth version.
const char* const kMigrations[] = {
    R"sql(
      CREATE TABLE batches(
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project TEXT NOT NULL, dataset TEXT NOT NULL, batch_id TEXT NOT NULL,
        digest BYTEA NOT NULL, record_count INTEGER NOT NULL, key_version INTEGER NOT NULL,
        key_names TEXT NOT NULL, stored_at TEXT NOT NULL,
        UNIQUE(project, dataset, batch_id));
      CREATE SEQUENCE records_id;
      CREATE TABLE records(
        id BIGINT PRIMARY KEY,
        batch BIGINT NOT NULL REFERENCES batches(id),
        ordinal INTEGER NOT NULL, event TEXT NOT NULL, event_date TEXT NOT NULL,
        content BYTEA NOT NULL, token BYTEA, replaced_by BIGINT, withdrawn_at TEXT);
      CREATE INDEX records_batch ON records(batch);
      CREATE INDEX records_token ON records(token) WHERE token IS NOT NULL;
      CREATE INDEX records_retired ON records(batch) WHERE replaced_by IS NOT NULL OR withdrawn_at IS NOT NULL;
      CREATE TABLE participants(
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        record BIGINT NOT NULL REFERENCES records(id),
        role TEXT NOT NULL, keys BYTEA NOT NULL);
      CREATE INDEX participants_record ON participants(record);
      CREATE TABLE generations(
        project TEXT NOT NULL, generation BIGINT NOT NULL,
        created_at TEXT NOT NULL, report BYTEA NOT NULL,
        PRIMARY KEY(project, generation));
      CREATE TABLE person_assignments(
        project TEXT NOT NULL, participant BIGINT NOT NULL,
        valid_from BIGINT NOT NULL, valid_until BIGINT, person BIGINT NOT NULL,
        PRIMARY KEY(project, participant, valid_from));
      CREATE INDEX person_assignments_ended ON person_assignments(project, valid_until)
        WHERE valid_until IS NOT NULL;
      CREATE INDEX person_assignments_current ON person_assignments(project, participant)
        WHERE valid_until IS NULL;
      CREATE TABLE person_lineage(
        project TEXT NOT NULL, generation BIGINT NOT NULL, person BIGINT NOT NULL,
        kind TEXT NOT NULL CHECK(kind IN ('new', 'kept', 'merged', 'split', 'left')),
        other BIGINT,
        PRIMARY KEY(project, generation, person));
      CREATE TABLE opt_out_batches(
        project TEXT NOT NULL, list_version TEXT NOT NULL, key_version INTEGER NOT NULL, batch_id TEXT NOT NULL,
        PRIMARY KEY(project, list_version, key_version, batch_id));
      CREATE TABLE opt_out_numbers(
        project TEXT NOT NULL, list_version TEXT NOT NULL, key_version INTEGER NOT NULL, nhs_key BYTEA NOT NULL,
        PRIMARY KEY(project, list_version, key_version, nhs_key));
      CREATE TABLE opt_out_active(
        project TEXT PRIMARY KEY, list_version TEXT NOT NULL, activated_at TEXT NOT NULL);
    )sql",
};
static_assert(std::size(kMigrations) == PostgresLinkedStore::kSchemaVersion,
              "kSchemaVersion is the number of migrations");

// The session advisory lock held while migrating (any fixed number that
// other applications of the database do not use).
constexpr int64_t kMigrationLock = 0x7472656c696e6b;  // "trelink"

absl::Status NewerSchema(int64_t version) {
  return absl::FailedPreconditionError(absl::StrCat("store schema version ", version,
                                                    " is newer than this service understands (",
                                                    PostgresLinkedStore::kSchemaVersion, "); upgrade the service"));
}

std::string Now(const Clock& clock) { return absl::FormatTime(absl::RFC3339_sec, clock.Now(), absl::UTCTimeZone()); }

// A PostgreSQL array literal of integers, for "= ANY($n::bigint[])".
std::string BigintArray(absl::Span<const int64_t> values) { return absl::StrCat("{", absl::StrJoin(values, ","), "}"); }

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresLinkedStore>> PostgresLinkedStore::Open(const std::string& conninfo,
                                                                               const Clock& clock) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db, PgConnection::Open(conninfo));
  std::unique_ptr<PostgresLinkedStore> store(new PostgresLinkedStore(std::move(db), conninfo, clock));
  TRELINK_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::Status PostgresLinkedStore::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  // A store already at this version is only read: a service that only reads
  // (the aggregator) can connect as a role that may not change the schema.
  TRELINK_ASSIGN_OR_RETURN(PgResult exists,
                           db_->Query("SELECT (to_regclass('schema_version') IS NOT NULL)::integer::bigint"));
  if (exists.row(0).Int(0) == 1) {
    TRELINK_ASSIGN_OR_RETURN(PgResult read, db_->Query("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version"));
    const int64_t current = read.row(0).Int(0);
    if (current == kSchemaVersion) return absl::OkStatus();
    if (current > kSchemaVersion) return NewerSchema(current);
  }
  TRELINK_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_lock($1)", PgParams().Int(kMigrationLock)).status());
  absl::Status migrated = [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(db_->Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    TRELINK_ASSIGN_OR_RETURN(PgResult read, db_->Query("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version"));
    const int64_t current = read.row(0).Int(0);
    if (current > kSchemaVersion) return NewerSchema(current);
    for (int64_t v = current; v < kSchemaVersion; ++v) {
      TRELINK_RETURN_IF_ERROR(InTransaction(*db_, [&]() -> absl::Status {
        TRELINK_RETURN_IF_ERROR(db_->Exec(kMigrations[v]));
        return db_->Query("INSERT INTO schema_version VALUES($1::integer)", PgParams().Int(v + 1)).status();
      }));
    }
    return absl::OkStatus();
  }();
  absl::Status unlocked = db_->Query("SELECT pg_advisory_unlock($1)", PgParams().Int(kMigrationLock)).status();
  return migrated.ok() ? unlocked : migrated;
}

// Writers of one project take turns: ids are drawn inside the lock, so a
// batch committed later has larger participant ids than every earlier one.
absl::Status PostgresLinkedStore::LockProject(const std::string& project) {
  return db_->Query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", PgParams().Text(project)).status();
}

absl::StatusOr<std::optional<StoredBatch>> PostgresLinkedStore::FindBatch(const std::string& project,
                                                                           const std::string& dataset,
                                                                           const std::string& batch_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      PgResult found,
      db_->Query("SELECT digest, record_count FROM batches WHERE project=$1 AND dataset=$2 AND batch_id=$3",
                 PgParams().Text(project).Text(dataset).Text(batch_id)));
  if (found.rows() == 0) return std::nullopt;
  return StoredBatch{std::string(found.row(0).Bytes(0)), static_cast<uint32_t>(found.row(0).Int(1))};
}

absl::StatusOr<uint32_t> PostgresLinkedStore::StoreBatch(const BatchToStore& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  const int records = batch.keys->records_size();
  uint32_t replaced = 0;
  absl::Status stored = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(LockProject(batch.project));
    TRELINK_ASSIGN_OR_RETURN(
        PgResult inserted,
        db_->Query("INSERT INTO batches(project, dataset, batch_id, digest, record_count, key_version, key_names, "
                   "stored_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
                   PgParams()
                       .Text(batch.project)
                       .Text(batch.dataset)
                       .Text(batch.batch_id)
                       .Bytes(batch.digest)
                       .Int(records)
                       .Int(batch.keys->key_version())
                       .Text(absl::StrJoin(batch.keys->key_names(), "\n"))
                       .Text(Now(clock_))));
    const int64_t batch_row = inserted.row(0).Int(0);
    // Record ids drawn in one round trip, in order.
    TRELINK_ASSIGN_OR_RETURN(
        PgResult ids, db_->Query("SELECT nextval('records_id') FROM generate_series(1, $1) ORDER BY 1",
                                 PgParams().Int(records)));
    std::vector<int64_t> record_ids;
    for (int r = 0; r < ids.rows(); ++r) record_ids.push_back(ids.row(r).Int(0));
    std::string bytes;
    TRELINK_RETURN_IF_ERROR(db_->Copy(
        "records(id, batch, ordinal, event, event_date, content, token)", [&](auto& out) -> absl::Status {
          for (int r = 0; r < records; ++r) {
            const trelink::v1::ContentRecord& content = batch.content->Get(r);
            content.SerializeToString(&bytes);
            out.Int(record_ids[r]).Int(batch_row).Int(r).Text(content.event()).Text(content.event_date()).Bytes(bytes);
            const std::string& token = batch.keys->records(r).record_token();
            if (token.empty()) {
              out.Null();
            } else {
              out.Bytes(token);
            }
            TRELINK_RETURN_IF_ERROR(out.EndRow());
          }
          return absl::OkStatus();
        }));
    TRELINK_RETURN_IF_ERROR(db_->Copy("participants(record, role, keys)", [&](auto& out) -> absl::Status {
      for (int r = 0; r < records; ++r) {
        for (const trelink::v1::ParticipantKeys& p : batch.keys->records(r).participants()) {
          p.SerializeToString(&bytes);
          TRELINK_RETURN_IF_ERROR(out.Int(record_ids[r]).Text(p.role()).Bytes(bytes).EndRow());
        }
      }
      return absl::OkStatus();
    }));
    // Each record carrying a token that an earlier record carries (or
    // carried under an earlier key version) replaces it: every stored
    // record not yet replaced is replaced by the first later record of
    // this batch with its token, as if the batch were stored one record
    // at a time.
    TRELINK_RETURN_IF_ERROR(
        db_->Exec("CREATE TEMP TABLE incoming_tokens(token BYTEA NOT NULL, record BIGINT NOT NULL) ON COMMIT DROP"));
    TRELINK_RETURN_IF_ERROR(db_->Copy("incoming_tokens(token, record)", [&](auto& out) -> absl::Status {
      for (int r = 0; r < records; ++r) {
        const trelink::v1::RecordKeys& keys = batch.keys->records(r);
        if (!keys.record_token().empty()) TRELINK_RETURN_IF_ERROR(out.Bytes(keys.record_token()).Int(record_ids[r]).EndRow());
        for (const std::string& earlier : keys.earlier_record_tokens()) {
          TRELINK_RETURN_IF_ERROR(out.Bytes(earlier).Int(record_ids[r]).EndRow());
        }
      }
      return absl::OkStatus();
    }));
    TRELINK_ASSIGN_OR_RETURN(
        PgResult replacing,
        db_->Query("UPDATE records o SET replaced_by = n.record FROM ("
                   "  SELECT s.id, MIN(i.record) AS record FROM records s JOIN incoming_tokens i "
                   "  ON i.token = s.token AND i.record > s.id WHERE s.replaced_by IS NULL GROUP BY s.id) n "
                   "WHERE o.id = n.id"));
    replaced = static_cast<uint32_t>(replacing.changed());
    return absl::OkStatus();
  });
  if (!stored.ok()) return stored;
  AnalyzeIfGrown(records);
  return replaced;
}

// PostgreSQL plans a query from its statistics of the tables, which
// autovacuum refreshes only now and then: a linkage run that reads a store
// loaded a minute ago could be planned for an empty one and take minutes
// instead of seconds. So the tables are analysed whenever the records this
// process stored have doubled since the last analysis (from 10,000 on: a
// handful of times from empty to millions). A failure only costs speed.
void PostgresLinkedStore::AnalyzeIfGrown(int64_t records) {
  constexpr int64_t kAnalyzeAfterRecords = 10000;
  stored_since_analyze_ += records;
  if (stored_since_analyze_ < std::max(kAnalyzeAfterRecords, stored_at_analyze_)) return;
  db_->Exec("ANALYZE batches, records, participants").IgnoreError();
  stored_at_analyze_ += stored_since_analyze_;
  stored_since_analyze_ = 0;
}

absl::StatusOr<WithdrawalCounts> PostgresLinkedStore::WithdrawRecords(absl::Span<const std::string> tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string now = Now(clock_);
  WithdrawalCounts counts;
  absl::Status done = InTransaction(*db_, [&]() -> absl::Status {
    counts = WithdrawalCounts();
    for (const std::string& token : tokens) {
      TRELINK_ASSIGN_OR_RETURN(
          PgResult withdrawn, db_->Query("UPDATE records SET withdrawn_at = $1 WHERE token = $2 AND withdrawn_at IS NULL",
                                         PgParams().Text(now).Bytes(token)));
      if (withdrawn.changed() > 0) {
        ++counts.withdrawn;
        continue;
      }
      TRELINK_ASSIGN_OR_RETURN(PgResult known,
                               db_->Query("SELECT COUNT(*) FROM records WHERE token = $1", PgParams().Bytes(token)));
      ++(known.row(0).Int(0) > 0 ? counts.already_withdrawn : counts.not_found);
    }
    return absl::OkStatus();
  });
  if (!done.ok()) return done;
  return counts;
}

absl::StatusOr<uint64_t> PostgresLinkedStore::StageOptOut(const std::string& project, const std::string& version,
                                                           const std::string& batch_id, uint32_t key_version,
                                                           absl::Span<const std::string> nhs_keys) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t numbers = 0;
  absl::Status staged = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(LockProject(project));
    TRELINK_ASSIGN_OR_RETURN(
        PgResult batch, db_->Query("INSERT INTO opt_out_batches VALUES($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                                   PgParams().Text(project).Text(version).Int(key_version).Text(batch_id)));
    if (batch.changed() > 0) {
      TRELINK_RETURN_IF_ERROR(db_->Exec("CREATE TEMP TABLE incoming_opt_out(nhs_key BYTEA NOT NULL) ON COMMIT DROP"));
      TRELINK_RETURN_IF_ERROR(db_->Copy("incoming_opt_out(nhs_key)", [&](auto& out) -> absl::Status {
        for (const std::string& key : nhs_keys) TRELINK_RETURN_IF_ERROR(out.Bytes(key).EndRow());
        return absl::OkStatus();
      }));
      TRELINK_RETURN_IF_ERROR(db_->Query("INSERT INTO opt_out_numbers SELECT DISTINCT $1, $2, $3::integer, nhs_key "
                                         "FROM incoming_opt_out ON CONFLICT DO NOTHING",
                                         PgParams().Text(project).Text(version).Int(key_version))
                                  .status());
    }
    TRELINK_ASSIGN_OR_RETURN(
        PgResult count,
        db_->Query("SELECT COUNT(*) FROM opt_out_numbers WHERE project = $1 AND list_version = $2 AND key_version = $3",
                   PgParams().Text(project).Text(version).Int(key_version)));
    numbers = static_cast<uint64_t>(count.row(0).Int(0));
    return absl::OkStatus();
  });
  if (!staged.ok()) return staged;
  return numbers;
}

absl::Status PostgresLinkedStore::ActivateOptOut(const std::string& project, const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(LockProject(project));
    TRELINK_ASSIGN_OR_RETURN(
        PgResult staged, db_->Query("SELECT COUNT(*) FROM opt_out_batches WHERE project = $1 AND list_version = $2",
                                    PgParams().Text(project).Text(version)));
    if (staged.row(0).Int(0) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("opt-out list ", version, ": no batch was loaded"));
    }
    for (const char* drop : {"DELETE FROM opt_out_numbers WHERE project = $1 AND list_version <> $2",
                             "DELETE FROM opt_out_batches WHERE project = $1 AND list_version <> $2"}) {
      TRELINK_RETURN_IF_ERROR(db_->Query(drop, PgParams().Text(project).Text(version)).status());
    }
    return db_
        ->Query("INSERT INTO opt_out_active VALUES($1,$2,$3) ON CONFLICT (project) DO UPDATE "
                "SET list_version = EXCLUDED.list_version, activated_at = EXCLUDED.activated_at",
                PgParams().Text(project).Text(version).Text(Now(clock_)))
        .status();
  });
}

absl::StatusOr<std::optional<OptOutList>> PostgresLinkedStore::ActiveOptOut(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<OptOutList> list;
  std::map<uint32_t, uint64_t> per_key_version;
  TRELINK_RETURN_IF_ERROR(db_->ForEachRow(
      "SELECT a.list_version, n.key_version, n.nhs_key FROM opt_out_active a LEFT JOIN opt_out_numbers n "
      "ON n.project = a.project AND n.list_version = a.list_version WHERE a.project = $1",
      PgParams().Text(project), [&](const PgRow& row) {
        if (!list.has_value()) list.emplace().version = std::string(row.Bytes(0));
        if (row.IsNull(2)) return absl::OkStatus();
        list->nhs_keys.emplace_back(row.Bytes(2));
        const auto key_version = static_cast<uint32_t>(row.Int(1));
        list->key_versions.insert(key_version);
        ++per_key_version[key_version];
        return absl::OkStatus();
      }));
  if (list.has_value() && !per_key_version.empty()) list->numbers = per_key_version.rbegin()->second;
  return list;
}

absl::StatusOr<std::set<uint32_t>> PostgresLinkedStore::LiveKeyVersions(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      PgResult result,
      db_->Query(absl::StrCat("SELECT DISTINCT b.key_version FROM batches b WHERE b.project = $1 AND EXISTS "
                              "(SELECT 1 FROM records r WHERE r.batch = b.id AND ",
                              kLiveRecordSql, ")"),
                 PgParams().Text(project)));
  std::set<uint32_t> versions;
  for (int r = 0; r < result.rows(); ++r) versions.insert(static_cast<uint32_t>(result.row(r).Int(0)));
  return versions;
}

absl::StatusOr<std::vector<std::string>> PostgresLinkedStore::KeyNames(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(PgResult result, db_->Query("SELECT DISTINCT key_names FROM batches WHERE project = $1",
                                                       PgParams().Text(project)));
  std::set<std::string> names;
  for (int r = 0; r < result.rows(); ++r) {
    for (absl::string_view name : absl::StrSplit(result.row(r).Bytes(0), '\n')) names.emplace(name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

absl::Status PostgresLinkedStore::ForEachParticipant(const std::string& project,
                                                     const std::function<void(const ParticipantRow&)>& visit,
                                                     int64_t after) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::flat_hash_map<int64_t, std::vector<std::string>> key_names;
  return db_->ForEachRow(
      absl::StrCat("SELECT b.id, b.dataset, b.key_names, p.id, p.record, p.role, p.keys, r.event, r.content "
                   "FROM participants p JOIN records r ON p.record = r.id JOIN batches b ON r.batch = b.id "
                   "WHERE p.id > $1 AND b.project = $2 AND ",
                   kLiveRecordSql, " ORDER BY p.id"),
      PgParams().Int(after).Text(project), [&](const PgRow& row) {
        auto [it, inserted] = key_names.try_emplace(row.Int(0));
        if (inserted) it->second = absl::StrSplit(row.Bytes(2), '\n');
        visit(ParticipantRow{row.Int(3), row.Int(4), row.Bytes(1), row.Bytes(5), row.Bytes(7), row.Bytes(8),
                             it->second, row.Bytes(6)});
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<int64_t>> PostgresLinkedStore::RetiredParticipants(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      PgResult result,
      db_->Query("SELECT p.id FROM records r JOIN batches b ON r.batch = b.id JOIN participants p ON p.record = r.id "
                 "WHERE b.project = $1 AND (r.replaced_by IS NOT NULL OR r.withdrawn_at IS NOT NULL) ORDER BY p.id",
                 PgParams().Text(project)));
  std::vector<int64_t> retired;
  for (int r = 0; r < result.rows(); ++r) retired.push_back(result.row(r).Int(0));
  return retired;
}

absl::Status PostgresLinkedStore::SaveGeneration(const std::string& project, trelink::v1::LinkageReport& report,
                                                 const AssignmentChanges& changes,
                                                 const std::vector<LineageEvent>& lineage) {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Status saved = InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(LockProject(project));
    TRELINK_ASSIGN_OR_RETURN(PgResult latest,
                             db_->Query("SELECT COALESCE(MAX(generation), 0)::bigint FROM generations WHERE project=$1",
                                        PgParams().Text(project)));
    const int64_t generation = latest.row(0).Int(0) + 1;
    report.set_generation(static_cast<uint64_t>(generation));
    TRELINK_RETURN_IF_ERROR(db_->Query("INSERT INTO generations VALUES($1,$2,$3,$4)",
                                       PgParams()
                                           .Text(project)
                                           .Int(generation)
                                           .Text(report.created_at())
                                           .Bytes(report.SerializeAsString()))
                                .status());
    if (!changes.ended.empty()) {
      TRELINK_RETURN_IF_ERROR(db_->Query("UPDATE person_assignments SET valid_until=$1 WHERE project=$2 AND "
                                         "participant = ANY($3::bigint[]) AND valid_until IS NULL",
                                         PgParams().Int(generation).Text(project).Text(BigintArray(changes.ended)))
                                  .status());
    }
    TRELINK_RETURN_IF_ERROR(db_->Copy("person_assignments(project, participant, valid_from, person)",
                                      [&](auto& out) -> absl::Status {
                                        for (const PersonAssignment& a : changes.assigned) {
                                          out.Text(project).Int(a.participant_id).Int(generation);
                                          TRELINK_RETURN_IF_ERROR(out.Int(static_cast<int64_t>(a.person_id)).EndRow());
                                        }
                                        return absl::OkStatus();
                                      }));
    TRELINK_RETURN_IF_ERROR(db_->Copy("person_lineage(project, generation, person, kind, other)",
                                      [&](auto& out) -> absl::Status {
                                        for (const LineageEvent& e : lineage) {
                                          if (e.kind == LineageKind::kKept) continue;
                                          out.Text(project).Int(generation).Int(static_cast<int64_t>(e.person_id));
                                          out.Text(LineageKindName(e.kind));
                                          if (e.other_person_id != 0) {
                                            out.Int(static_cast<int64_t>(e.other_person_id));
                                          } else {
                                            out.Null();
                                          }
                                          TRELINK_RETURN_IF_ERROR(out.EndRow());
                                        }
                                        return absl::OkStatus();
                                      }));
    // Assignments that ended before the oldest generation kept.
    return db_
        ->Query("DELETE FROM person_assignments WHERE project=$1 AND valid_until IS NOT NULL AND valid_until<=$2",
                PgParams().Text(project).Int(generation - kGenerationsKept + 1))
        .status();
  });
  // A generation rewrites many assignments; the aggregator's next read
  // joins them (see AnalyzeIfGrown).
  if (saved.ok()) db_->Exec("ANALYZE person_assignments, person_lineage").IgnoreError();
  return saved;
}

absl::StatusOr<std::vector<PersonAssignment>> PostgresLinkedStore::LatestAssignments(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PersonAssignment> assignments;
  // One snapshot for both reads, whatever other replicas write meanwhile.
  TRELINK_RETURN_IF_ERROR(InTransaction(*db_, [&]() -> absl::Status {
    TRELINK_RETURN_IF_ERROR(db_->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    TRELINK_ASSIGN_OR_RETURN(assignments, CurrentAssignmentsLocked(project));
    TRELINK_ASSIGN_OR_RETURN(auto successor, SuccessorParticipantsLocked(project));
    FollowSuccessors(successor, assignments);
    return absl::OkStatus();
  }));
  return assignments;
}

absl::StatusOr<std::vector<PersonAssignment>> PostgresLinkedStore::CurrentAssignments(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  return CurrentAssignmentsLocked(project);
}

absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> PostgresLinkedStore::SuccessorParticipants(
    const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  return SuccessorParticipantsLocked(project);
}

absl::StatusOr<std::vector<PersonAssignment>> PostgresLinkedStore::CurrentAssignmentsLocked(
    const std::string& project) {
  std::vector<PersonAssignment> assignments;
  TRELINK_RETURN_IF_ERROR(db_->ForEachRow("SELECT participant, person FROM person_assignments "
                                          "WHERE project=$1 AND valid_until IS NULL ORDER BY participant",
                                          PgParams().Text(project), [&](const PgRow& row) {
                                            assignments.push_back({row.Int(0), static_cast<uint64_t>(row.Int(1))});
                                            return absl::OkStatus();
                                          }));
  return assignments;
}

absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> PostgresLinkedStore::SuccessorParticipantsLocked(
    const std::string& project) {
  std::vector<PlacedParticipant> placed;
  TRELINK_RETURN_IF_ERROR(db_->ForEachRow(
      "SELECT p.id, p.record, p.role, r.replaced_by FROM participants p "
      "JOIN records r ON p.record = r.id JOIN batches b ON r.batch = b.id "
      "WHERE b.project = $1 AND (r.replaced_by IS NOT NULL OR r.id IN "
      "(SELECT replaced_by FROM records WHERE replaced_by IS NOT NULL)) ORDER BY p.id",
      PgParams().Text(project), [&](const PgRow& row) {
        placed.push_back({row.Int(0), row.Int(1), std::string(row.Bytes(2)),
                          row.IsNull(3) ? std::nullopt : std::optional<int64_t>(row.Int(3))});
        return absl::OkStatus();
      }));
  return SuccessorsByPlace(placed);
}

absl::StatusOr<std::optional<trelink::v1::LinkageReport>> PostgresLinkedStore::LatestReport(
    const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      PgResult result, db_->Query("SELECT report FROM generations WHERE project=$1 ORDER BY generation DESC LIMIT 1",
                                  PgParams().Text(project)));
  if (result.rows() == 0) return std::nullopt;
  trelink::v1::LinkageReport report;
  const absl::string_view blob = result.row(0).Bytes(0);
  if (!report.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return absl::DataLossError("store: unreadable linkage report");
  }
  return report;
}

absl::Status PostgresLinkedStore::ForEachEvent(const std::string& project, uint64_t generation,
                                               const std::function<void(const EventRow&)>& visit) {
  std::lock_guard<std::mutex> lock(mu_);
  EventRowAssembler events(visit);
  TRELINK_RETURN_IF_ERROR(db_->ForEachRow(
      "SELECT r.id, b.dataset, r.content, p.role, l.person "
      "FROM records r JOIN batches b ON r.batch = b.id JOIN participants p ON p.record = r.id "
      "JOIN person_assignments l ON l.project = b.project AND l.participant = p.id "
      "WHERE l.valid_from <= $1 AND (l.valid_until IS NULL OR l.valid_until > $1) "
      "AND b.project = $2 AND r.withdrawn_at IS NULL ORDER BY r.id, p.id",
      PgParams().Int(static_cast<int64_t>(generation)).Text(project), [&](const PgRow& row) {
        return events.Add(row.Int(0), row.Bytes(1), row.Bytes(2), row.Bytes(3), static_cast<uint64_t>(row.Int(4)));
      }));
  return events.Finish();
}

absl::StatusOr<int64_t> PostgresLinkedStore::CountRecords(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_ASSIGN_OR_RETURN(
      PgResult result,
      db_->Query(absl::StrCat("SELECT COUNT(*) FROM records r JOIN batches b ON r.batch = b.id WHERE b.project = $1 AND ",
                              kLiveRecordSql),
                 PgParams().Text(project)));
  return result.row(0).Int(0);
}

namespace {

class PostgresLinkageLease final : public LinkedStore::LinkageLease {
 public:
  explicit PostgresLinkageLease(std::unique_ptr<PgConnection> connection) : connection_(std::move(connection)) {}

 private:
  std::unique_ptr<PgConnection> connection_;  // holds the lock while open
};

// The key space of the linkage leases (the two-key form of advisory locks,
// which does not overlap the one-key locks of migration and writes).
constexpr int64_t kLinkageLeaseSpace = 0x74726c6b;  // "trlk"

}  // namespace

absl::StatusOr<std::unique_ptr<LinkedStore::LinkageLease>> PostgresLinkedStore::LeaseLinkage(
    const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> connection, PgConnection::Open(conninfo_));
  TRELINK_ASSIGN_OR_RETURN(PgResult taken,
                           connection->Query("SELECT pg_try_advisory_lock($1::integer, hashtext($2))::integer::bigint",
                                             PgParams().Int(kLinkageLeaseSpace).Text(project)));
  if (taken.row(0).Int(0) != 1) return LinkageInProgressError(project);
  return std::make_unique<PostgresLinkageLease>(std::move(connection));
}

}  // namespace trelink
