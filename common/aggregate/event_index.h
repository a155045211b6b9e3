// The aggregator's in-memory index of one linkage generation: every event
// with its day, its groupable attribute values and its participants'
// persons, plus each person's events and related persons (mother-baby,
// parent-child). Built once per generation; read-only and shared by queries.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "common/sdc/release_audit.h"
#include "common/store/linked_store.h"

namespace trelink {

class EventIndex final : public PersonSpace {
 public:
  static constexpr int16_t kMissing = -1;

  struct Event {
    uint16_t dataset;
    uint16_t event;
    int32_t day;             // days since 1970-01-01
    uint32_t first_person;   // into participants_
    uint16_t person_count;
    uint32_t first_value;    // into values_: one per attribute of the dataset
  };
  struct Participant {
    uint16_t role;    // index into the dataset's roles
    uint32_t person;  // dense person index
  };

  // Loads the latest generation of `project` from the store.
  static absl::StatusOr<std::shared_ptr<const EventIndex>> Build(LinkedStore& store, const Catalogue& catalogue,
                                                                 const std::string& project);

  uint64_t generation() const override { return generation_; }
  // The national data opt-out list the generation applied ("" when none).
  const std::string& opt_out_list() const { return opt_out_list_; }
  size_t events() const { return events_.size(); }
  size_t persons() const override { return linkage_ids_.size(); }
  // PersonSpace: a participant key is (record id << 8 | role index), stable
  // across generations; a person's anchor is the smallest of theirs.
  uint64_t anchor(uint32_t person) const override { return anchors_[person]; }
  std::optional<uint32_t> PersonOfParticipant(uint64_t key) const override;
  const Catalogue& catalogue() const { return catalogue_; }

  int DatasetIndex(absl::string_view dataset) const;
  // Events of (dataset, event), sorted by day.
  const std::vector<uint32_t>& EventsOf(int dataset, int event) const;
  const Event& event(uint32_t e) const { return events_[e]; }
  absl::Span<const Participant> participants(uint32_t e) const {
    return absl::MakeConstSpan(participants_).subspan(events_[e].first_person, events_[e].person_count);
  }
  // The value index of attribute `a` (CODE: allowed value index; INTEGER:
  // the value), or kMissing.
  int16_t value(uint32_t e, int a) const { return values_[events_[e].first_value + static_cast<uint32_t>(a)]; }
  absl::Span<const uint32_t> EventsOfPerson(uint32_t person) const;
  absl::Span<const uint32_t> RelatedPersons(uint32_t person) const;
  uint64_t linkage_id(uint32_t person) const { return linkage_ids_[person]; }
  // Days of matching events by participating person, built once per key and
  // kept for the life of this index (the same flag is asked again and
  // again). Thread-safe.
  using PersonDays = absl::flat_hash_map<uint32_t, std::vector<int32_t>>;
  std::shared_ptr<const PersonDays> CachedPersonDays(const std::string& key,
                                                     const std::function<PersonDays()>& build) const;

  // Earliest and latest event day of a dataset (0, -1 when it has none).
  std::pair<int32_t, int32_t> DayRange(int dataset) const { return day_range_[static_cast<size_t>(dataset)]; }

 private:
  explicit EventIndex(const Catalogue& catalogue) : catalogue_(catalogue) {}
  // Stores the events of each (dataset, event) together, by day, as queries
  // read them: a cohort of 300,000 births is then read front to back, not
  // gathered from across memory. Renumbers the events in `person_events`.
  void LayOutInQueryOrder(std::vector<std::pair<uint32_t, uint32_t>>& person_events);
  const Catalogue& catalogue_;
  uint64_t generation_ = 0;
  std::string opt_out_list_;
  std::vector<Event> events_;
  std::vector<Participant> participants_;
  std::vector<int16_t> values_;
  std::vector<std::vector<std::vector<uint32_t>>> by_dataset_event_;
  std::vector<std::pair<int32_t, int32_t>> day_range_;
  std::vector<uint64_t> linkage_ids_;
  std::vector<uint64_t> anchors_;
  absl::flat_hash_map<uint64_t, uint32_t> person_of_participant_;
  std::vector<uint32_t> person_event_offsets_, person_events_;
  std::vector<uint32_t> related_offsets_, related_;
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const PersonDays>> person_days_;
};

// Days since 1970-01-01 of an ISO date; false when it is not one.
bool DayNumber(absl::string_view iso, int32_t& day);

}  // namespace trelink
