#include "common/linkage/opt_out.h"

#include <cstring>

#include "absl/container/flat_hash_set.h"

namespace trelink {

std::vector<bool> OptedOutParticipants(const ParticipantTable& table, absl::Span<const std::string> nhs_keys) {
  std::vector<bool> opted_out(table.size(), false);
  const int slot = table.Slot("nhs");
  if (slot < 0 || nhs_keys.empty()) return opted_out;
  // The table keeps the first 8 bytes of each keyed hash (0 reserved).
  absl::flat_hash_set<uint64_t> fingerprints;
  for (const std::string& key : nhs_keys) {
    if (key.size() < sizeof(uint64_t)) continue;
    uint64_t fingerprint = 0;
    memcpy(&fingerprint, key.data(), sizeof fingerprint);
    fingerprints.insert(fingerprint == 0 ? 1 : fingerprint);
  }
  for (size_t p = 0; p < table.size(); ++p) {
    const uint64_t key = table.OriginalKey(p, slot);
    opted_out[p] = key != 0 && fingerprints.contains(key);
  }
  return opted_out;
}

OptOutExclusion ExcludeOptedOut(const ParticipantTable& table, const std::vector<uint32_t>& set_of,
                                const std::vector<bool>& opted_out) {
  absl::flat_hash_set<uint32_t> persons;
  for (size_t p = 0; p < table.size(); ++p) {
    if (opted_out[p]) persons.insert(set_of[p]);
  }
  absl::flat_hash_set<int64_t> records;
  for (size_t p = 0; p < table.size(); ++p) {
    if (persons.contains(set_of[p])) records.insert(table.record_id(p));
  }
  OptOutExclusion exclusion;
  exclusion.persons = persons.size();
  exclusion.excluded.assign(table.size(), false);
  absl::flat_hash_set<int64_t> counted;
  for (size_t p = 0; p < table.size(); ++p) {
    if (!records.contains(table.record_id(p))) continue;
    exclusion.excluded[p] = true;
    if (counted.insert(table.record_id(p)).second) ++exclusion.records_by_dataset[table.datasets()[table.dataset(p)]];
  }
  return exclusion;
}

trelink::v1::OptOutReport ReportOptOut(const std::string& list_version, uint64_t numbers_in_list,
                                       const OptOutExclusion& exclusion) {
  trelink::v1::OptOutReport report;
  report.set_list_version(list_version);
  report.set_numbers_in_list(numbers_in_list);
  report.mutable_persons_excluded()->set_value(exclusion.persons);
  for (const auto& [dataset, records] : exclusion.records_by_dataset) {
    trelink::v1::DatasetCount* count = report.add_records_excluded();
    count->set_dataset(dataset);
    count->mutable_count()->set_value(records);
  }
  return report;
}

}  // namespace trelink
