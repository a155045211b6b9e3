#include "common/sdc/release_history.h"

namespace trelink {

absl::StatusOr<std::vector<RecordedTable>> InMemoryReleaseHistory::Tables(const std::string& project) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tables_.find(project);
  if (it == tables_.end()) return std::vector<RecordedTable>{};
  return it->second;
}

absl::Status InMemoryReleaseHistory::Record(const std::string& project, const RecordedTable& table) {
  std::lock_guard<std::mutex> lock(mu_);
  tables_[project].push_back(table);
  return absl::OkStatus();
}

size_t InMemoryReleaseHistory::tables() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [project, tables] : tables_) n += tables.size();
  return n;
}

}  // namespace trelink
