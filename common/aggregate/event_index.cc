#include "common/aggregate/event_index.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Builds a compressed adjacency list from (key, value) pairs.
void Compress(size_t keys, std::vector<std::pair<uint32_t, uint32_t>>& pairs, std::vector<uint32_t>& offsets,
              std::vector<uint32_t>& values) {
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  offsets.assign(keys + 1, 0);
  for (const auto& [key, value] : pairs) offsets[key + 1]++;
  for (size_t k = 0; k < keys; ++k) offsets[k + 1] += offsets[k];
  values.resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) values[i] = pairs[i].second;
}

int IndexOf(const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view value) {
  auto it = std::find(list.begin(), list.end(), value);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

}  // namespace

bool DayNumber(absl::string_view iso, int32_t& day) {
  absl::CivilDay civil;
  if (!ParseIsoDate(iso, civil)) return false;
  day = static_cast<int32_t>(civil - absl::CivilDay(1970, 1, 1));
  return true;
}

absl::StatusOr<std::shared_ptr<const EventIndex>> EventIndex::Build(LinkedStore& store, const Catalogue& catalogue,
                                                                    const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(auto report, store.LatestReport(project));
  if (!report.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project, "\" has not been linked yet"));
  }
  std::shared_ptr<EventIndex> index(new EventIndex(catalogue));
  index->generation_ = report->generation();
  index->opt_out_list_ = report->opt_out().list_version();
  const auto& datasets = catalogue.proto().datasets();
  index->by_dataset_event_.resize(static_cast<size_t>(datasets.size()));
  index->day_range_.assign(static_cast<size_t>(datasets.size()), {INT32_MAX, INT32_MIN});
  for (int d = 0; d < datasets.size(); ++d) index->by_dataset_event_[d].resize(static_cast<size_t>(datasets[d].events_size()));

  absl::flat_hash_map<uint64_t, uint32_t> dense;
  std::vector<std::pair<uint32_t, uint32_t>> person_events, related;
  absl::Status failure;
  TRELINK_RETURN_IF_ERROR(store.ForEachEvent(project, report->generation(), [&](const EventRow& row) {
    const int d = index->DatasetIndex(row.dataset);
    if (d < 0 || !failure.ok()) return;  // a dataset since removed from the catalogue
    const trelink::v1::DatasetSpec& spec = datasets[d];
    const int event = IndexOf(spec.events(), row.content.event());
    int32_t day = 0;
    if (event < 0 || !DayNumber(row.content.event_date(), day)) return;
    const uint32_t e = static_cast<uint32_t>(index->events_.size());
    Event indexed{static_cast<uint16_t>(d), static_cast<uint16_t>(event), day,
                  static_cast<uint32_t>(index->participants_.size()), 0,
                  static_cast<uint32_t>(index->values_.size())};
    for (const auto& attribute : spec.attributes()) {
      int16_t value = kMissing;
      auto it = row.content.attributes().find(attribute.name());
      if (it != row.content.attributes().end()) {
        if (attribute.type() == trelink::v1::AttributeSpec::CODE) {
          value = static_cast<int16_t>(IndexOf(attribute.allowed_values(), it->second));
        } else if (attribute.type() == trelink::v1::AttributeSpec::INTEGER) {
          int v = 0;
          if (absl::SimpleAtoi(it->second, &v) && v >= INT16_MIN + 1 && v <= INT16_MAX) value = static_cast<int16_t>(v);
        }
      }
      index->values_.push_back(value);
    }
    std::vector<std::pair<int, uint32_t>> roles;  // role index, person
    for (size_t p = 0; p < row.roles.size(); ++p) {
      const int role = IndexOf(spec.roles(), row.roles[p]);
      if (role < 0) continue;
      auto [it, fresh] = dense.try_emplace(row.persons[p], static_cast<uint32_t>(index->linkage_ids_.size()));
      if (fresh) {
        index->linkage_ids_.push_back(row.persons[p]);
        index->anchors_.push_back(UINT64_MAX);
      }
      const uint64_t key = (static_cast<uint64_t>(row.record_id) << 8) | static_cast<uint64_t>(role);
      index->person_of_participant_[key] = it->second;
      index->anchors_[it->second] = std::min(index->anchors_[it->second], key);
      index->participants_.push_back({static_cast<uint16_t>(role), it->second});
      person_events.emplace_back(it->second, e);
      roles.emplace_back(role, it->second);
      ++indexed.person_count;
    }
    for (const auto& relation : spec.relations()) {
      const int from = IndexOf(spec.roles(), relation.from_role()), to = IndexOf(spec.roles(), relation.to_role());
      for (const auto& [ra, pa] : roles) {
        for (const auto& [rb, pb] : roles) {
          if (ra == from && rb == to && pa != pb) {
            related.emplace_back(pa, pb);
            related.emplace_back(pb, pa);
          }
        }
      }
    }
    index->events_.push_back(indexed);
    index->by_dataset_event_[d][static_cast<size_t>(event)].push_back(e);
    auto& range = index->day_range_[static_cast<size_t>(d)];
    range = {std::min(range.first, day), std::max(range.second, day)};
  }));
  for (auto& events : index->by_dataset_event_) {
    for (auto& list : events) {
      std::sort(list.begin(), list.end(),
                [&](uint32_t a, uint32_t b) { return index->events_[a].day < index->events_[b].day; });
    }
  }
  index->LayOutInQueryOrder(person_events);
  for (auto& range : index->day_range_) {
    if (range.first > range.second) range = {0, -1};
  }
  Compress(index->linkage_ids_.size(), person_events, index->person_event_offsets_, index->person_events_);
  Compress(index->linkage_ids_.size(), related, index->related_offsets_, index->related_);
  return std::shared_ptr<const EventIndex>(std::move(index));
}

void EventIndex::LayOutInQueryOrder(std::vector<std::pair<uint32_t, uint32_t>>& person_events) {
  std::vector<uint32_t> position(events_.size());
  std::vector<Event> events;
  std::vector<Participant> participants;
  std::vector<int16_t> values;
  events.reserve(events_.size());
  participants.reserve(participants_.size());
  values.reserve(values_.size());
  for (auto& lists : by_dataset_event_) {
    for (auto& list : lists) {
      for (uint32_t& e : list) {
        const Event& old = events_[e];
        const int value_count = catalogue_.proto().datasets(old.dataset).attributes_size();
        Event moved = old;
        moved.first_person = static_cast<uint32_t>(participants.size());
        participants.insert(participants.end(), participants_.begin() + old.first_person,
                            participants_.begin() + old.first_person + old.person_count);
        moved.first_value = static_cast<uint32_t>(values.size());
        values.insert(values.end(), values_.begin() + old.first_value,
                      values_.begin() + old.first_value + value_count);
        position[e] = static_cast<uint32_t>(events.size());
        events.push_back(moved);
        e = position[e];
      }
    }
  }
  events_ = std::move(events);
  participants_ = std::move(participants);
  values_ = std::move(values);
  for (auto& [person, e] : person_events) e = position[e];
}

std::optional<uint32_t> EventIndex::PersonOfParticipant(uint64_t key) const {
  auto it = person_of_participant_.find(key);
  if (it == person_of_participant_.end()) return std::nullopt;
  return it->second;
}

int EventIndex::DatasetIndex(absl::string_view dataset) const {
  const auto& datasets = catalogue_.proto().datasets();
  for (int d = 0; d < datasets.size(); ++d) {
    if (datasets[d].name() == dataset) return d;
  }
  return -1;
}

const std::vector<uint32_t>& EventIndex::EventsOf(int dataset, int event) const {
  return by_dataset_event_[static_cast<size_t>(dataset)][static_cast<size_t>(event)];
}

absl::Span<const uint32_t> EventIndex::EventsOfPerson(uint32_t person) const {
  return absl::MakeConstSpan(person_events_)
      .subspan(person_event_offsets_[person], person_event_offsets_[person + 1] - person_event_offsets_[person]);
}

std::shared_ptr<const EventIndex::PersonDays> EventIndex::CachedPersonDays(
    const std::string& key, const std::function<PersonDays()>& build) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = person_days_.find(key);
    if (it != person_days_.end()) return it->second;
  }
  auto built = std::make_shared<const PersonDays>(build());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (person_days_.size() > 256) person_days_.clear();  // bound the memory of many distinct flags
  return person_days_.emplace(key, std::move(built)).first->second;
}

absl::Span<const uint32_t> EventIndex::RelatedPersons(uint32_t person) const {
  return absl::MakeConstSpan(related_).subspan(related_offsets_[person],
                                               related_offsets_[person + 1] - related_offsets_[person]);
}

}  // namespace trelink
