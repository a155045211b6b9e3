// Opens the linked store a service's config names: an SQLite file or a
// PostgreSQL connection string, exactly one of them.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/store/linked_store.h"
#include "common/time/clock.h"

namespace trelink {

absl::StatusOr<std::unique_ptr<LinkedStore>> OpenLinkedStore(const std::string& database_file,
                                                             const std::string& database_url, const Clock& clock);

}  // namespace trelink
