#include "common/store/open_linked_store.h"

#include "common/store/postgres_linked_store.h"
#include "common/store/sqlite_linked_store.h"

namespace trelink {

absl::StatusOr<std::unique_ptr<LinkedStore>> OpenLinkedStore(const std::string& database_file,
                                                             const std::string& database_url, const Clock& clock) {
  if (database_file.empty() == database_url.empty()) {
    return absl::InvalidArgumentError("database_file, database_url: set exactly one");
  }
  if (!database_file.empty()) {
    absl::StatusOr<std::unique_ptr<SqliteLinkedStore>> store = SqliteLinkedStore::Open(database_file, clock);
    if (!store.ok()) return store.status();
    return std::unique_ptr<LinkedStore>(*std::move(store));
  }
  absl::StatusOr<std::unique_ptr<PostgresLinkedStore>> store = PostgresLinkedStore::Open(database_url, clock);
  if (!store.ok()) return store.status();
  return std::unique_ptr<LinkedStore>(*std::move(store));
}

}  // namespace trelink
