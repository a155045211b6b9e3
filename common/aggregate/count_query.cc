#include "common/aggregate/count_query.h"

#include <algorithm>
#include <map>

#include <sodium.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/config/proto_bytes.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Sorts and removes repeats. Persons are dense indexes, so a large
// population (a cohort of 300,000 births) is radix-sorted by 11-bit digits:
// a few linear passes instead of a comparison sort.
void SortDistinct(Population& population) {
  constexpr size_t kRadixFrom = 4096;
  if (population.size() < kRadixFrom) {
    std::sort(population.begin(), population.end());
  } else {
    const uint64_t largest = *std::max_element(population.begin(), population.end());
    Population buffer(population.size());
    constexpr int kBits = 11;
    constexpr size_t kBuckets = size_t{1} << kBits;
    for (int shift = 0; shift < 64 && (largest >> shift) != 0; shift += kBits) {
      std::vector<size_t> start(kBuckets + 1, 0);
      for (uint64_t id : population) start[((id >> shift) & (kBuckets - 1)) + 1]++;
      for (size_t b = 1; b <= kBuckets; ++b) start[b] += start[b - 1];
      for (uint64_t id : population) buffer[start[(id >> shift) & (kBuckets - 1)]++] = id;
      population.swap(buffer);
    }
  }
  population.erase(std::unique(population.begin(), population.end()), population.end());
}

using trelink::v1::CountQuery;
using trelink::v1::Dimension;

absl::Status Invalid(const std::string& field, absl::string_view what) { return FieldError(field, what); }

int IndexOf(const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view value) {
  auto it = std::find(list.begin(), list.end(), value);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

int YearOf(int32_t day) { return static_cast<int>((absl::CivilDay(1970, 1, 1) + day).year()); }

struct AttributeFilter {
  int attribute;
  absl::flat_hash_set<int16_t> values;
};

struct CompiledFlag {
  int dataset;
  absl::flat_hash_set<int> events;
  trelink::v1::Flag::Whom whom;
  bool any_time;
  int32_t from_days, to_days;
  std::vector<AttributeFilter> filters;
  // The days of every matching flag event, by participating person, sorted:
  // flag events are usually few, so looking a person up here is far cheaper
  // than walking each cohort person's events.
  std::shared_ptr<const EventIndex::PersonDays> days_by_person;
};

struct CompiledDimension {
  enum Kind { kAttribute, kFlag, kYear } kind;
  int source = 0;  // attribute or flag index
  int16_t base = 0;  // INTEGER attributes: the minimum; years: the first year
  bool integer = false;
  int size = 0;    // levels, including "missing" for attributes
};

absl::StatusOr<std::vector<AttributeFilter>> CompileFilters(
    const trelink::v1::DatasetSpec& dataset,
    const google::protobuf::RepeatedPtrField<trelink::v1::DimensionFilter>& filters, const std::string& where) {
  std::vector<AttributeFilter> compiled;
  for (int i = 0; i < filters.size(); ++i) {
    const std::string at = absl::StrCat(where, "[", i, "]");
    const auto& f = filters[i];
    const int a = [&] {
      for (int k = 0; k < dataset.attributes_size(); ++k) {
        if (dataset.attributes(k).name() == f.attribute()) return k;
      }
      return -1;
    }();
    if (a < 0) return Invalid(at + ".attribute", absl::StrCat("\"", f.attribute(), "\" is not an attribute of ", dataset.name()));
    const auto& spec = dataset.attributes(a);
    if (!spec.groupable()) return Invalid(at + ".attribute", absl::StrCat("\"", f.attribute(), "\" is not groupable"));
    if (f.values().empty()) return Invalid(at + ".values", "at least one value");
    AttributeFilter filter{a, {}};
    for (const std::string& v : f.values()) {
      int16_t value = -1;
      if (spec.type() == trelink::v1::AttributeSpec::CODE) {
        value = static_cast<int16_t>(IndexOf(spec.allowed_values(), v));
      } else {
        int n = 0;
        if (absl::SimpleAtoi(v, &n) && n >= spec.min() && n <= spec.max()) value = static_cast<int16_t>(n);
      }
      if (value < 0) return Invalid(at + ".values", absl::StrCat("\"", v, "\" is not a value of ", f.attribute()));
      filter.values.insert(value);
    }
    compiled.push_back(std::move(filter));
  }
  return compiled;
}

bool PassesFilters(const EventIndex& index, uint32_t e, const std::vector<AttributeFilter>& filters) {
  for (const AttributeFilter& f : filters) {
    if (!f.values.contains(index.value(e, f.attribute))) return false;
  }
  return true;
}

absl::StatusOr<absl::flat_hash_set<int>> CompileEvents(const trelink::v1::DatasetSpec& dataset,
                                                       const google::protobuf::RepeatedPtrField<std::string>& events,
                                                       const std::string& field) {
  if (events.empty()) return Invalid(field, "at least one event");
  absl::flat_hash_set<int> compiled;
  for (const std::string& event : events) {
    const int e = IndexOf(dataset.events(), event);
    if (e < 0) return Invalid(field, absl::StrCat("\"", event, "\" is not an event of ", dataset.name()));
    compiled.insert(e);
  }
  return compiled;
}

// `key` identifies what the flag matches (dataset, events, filters), not its
// window, so flags that differ only in their window share the index.
void IndexFlagEvents(const EventIndex& index, const std::string& key, CompiledFlag& flag) {
  flag.days_by_person = index.CachedPersonDays(key, [&] {
    EventIndex::PersonDays days_by_person;
    for (int event : flag.events) {
      for (uint32_t e : index.EventsOf(flag.dataset, event)) {
        if (!PassesFilters(index, e, flag.filters)) continue;
        for (const auto& participant : index.participants(e)) {
          days_by_person[participant.person].push_back(index.event(e).day);
        }
      }
    }
    for (auto& [person, days] : days_by_person) std::sort(days.begin(), days.end());
    return days_by_person;
  });
}

bool FlagHolds(const EventIndex& index, const CompiledFlag& flag, uint32_t person, int32_t day) {
  auto person_has = [&](uint32_t who) {
    auto it = flag.days_by_person->find(who);
    if (it == flag.days_by_person->end()) return false;
    if (flag.any_time) return true;
    // In 64 bits: the window is the analyst's, any int32, and day + from_days
    // overflowed (undefined; in practice a window wrapped round).
    const int64_t from = int64_t{day} + flag.from_days, to = int64_t{day} + flag.to_days;
    auto first = std::lower_bound(it->second.begin(), it->second.end(), from);
    return first != it->second.end() && *first <= to;
  };
  if (flag.whom != trelink::v1::Flag::RELATED_PERSON && person_has(person)) return true;
  if (flag.whom != trelink::v1::Flag::SAME_PERSON) {
    for (uint32_t related : index.RelatedPersons(person)) {
      if (person_has(related)) return true;
    }
  }
  return false;
}

// Checked before any dimension is compiled: each one adds a label list and
// multiplies the table, so an unbounded list is a denial of service.
absl::Status CheckGroupBy(const google::protobuf::RepeatedPtrField<Dimension>& group_by) {
  if (group_by.size() > kMaxGroupBy) {
    return Invalid("group_by", absl::StrCat(group_by.size(), " dimensions; at most ", kMaxGroupBy));
  }
  for (int i = 0; i < group_by.size(); ++i) {
    for (int j = 0; j < i; ++j) {
      const Dimension &a = group_by[i], &b = group_by[j];
      if (a.kind_case() == b.kind_case() && a.attribute() == b.attribute() && a.flag() == b.flag() &&
          a.derived() == b.derived()) {
        return Invalid(absl::StrCat("group_by[", i, "]"), absl::StrCat("duplicates group_by[", j, "]"));
      }
    }
  }
  return absl::OkStatus();
}

// Cells including margins. The product stops as soon as it passes the cap,
// so it cannot wrap round to a small number and let an impossible table
// through to the allocation.
absl::Status CheckCellCount(const std::vector<CompiledDimension>& dims, bool totals, uint32_t max_cells) {
  uint64_t cells = 1;
  for (const auto& dim : dims) {
    cells *= static_cast<uint64_t>(dim.size) + (totals ? 1 : 0);
    if (cells > max_cells) {
      return absl::ResourceExhaustedError(
          absl::StrCat("group_by: the table would have more than ", max_cells, " cells; the cap is ", max_cells));
    }
  }
  return absl::OkStatus();
}

// What a cell counts, independent of how the query was written: the cohort
// (filters in a fixed order; its date range left out, as dates are no
// attribute of a person and a range over all the data equals none), each flag with the value the cell requires
// (yes when it only filters, yes/no/any when grouped), and the grouped
// values. BLAKE2b-128 of the sorted parts.
std::string CellDefinition(const CountQuery& query, const std::vector<std::vector<std::string>>& labels,
                           const std::vector<int>& coords) {
  trelink::v1::Cohort cohort = query.cohort();
  for (auto& filter : *cohort.mutable_filters()) std::sort(filter.mutable_values()->begin(), filter.mutable_values()->end());
  std::sort(cohort.mutable_filters()->begin(), cohort.mutable_filters()->end(),
            [](const auto& a, const auto& b) { return a.attribute() < b.attribute(); });
  std::sort(cohort.mutable_events()->begin(), cohort.mutable_events()->end());
  cohort.clear_from_date();
  cohort.clear_to_date();
  std::vector<std::string> parts = {"cohort:" + DeterministicBytes(cohort)};
  for (const trelink::v1::Flag& flag : query.flags()) {
    std::string required = "yes";
    for (int i = 0; i < query.group_by_size(); ++i) {
      if (query.group_by(i).flag() != flag.name()) continue;
      const int at = coords[static_cast<size_t>(i)];
      required = at < 0 ? "any" : labels[static_cast<size_t>(i)][static_cast<size_t>(at)];
    }
    if (required == "any") continue;  // a grouped flag's margin does not restrict
    trelink::v1::Flag unnamed = flag;
    unnamed.clear_name();
    parts.push_back(absl::StrCat("flag:", DeterministicBytes(unnamed), "=", required));
  }
  for (int i = 0; i < query.group_by_size(); ++i) {
    const int at = coords[static_cast<size_t>(i)];
    if (query.group_by(i).has_flag() || at < 0) continue;
    parts.push_back(absl::StrCat("dimension:", DeterministicBytes(query.group_by(i)), "=",
                                 labels[static_cast<size_t>(i)][static_cast<size_t>(at)]));
  }
  std::sort(parts.begin(), parts.end());
  const std::string joined = absl::StrJoin(parts, std::string(1, '\0'));
  std::string digest(16, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(digest.data()), digest.size(),
                     reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), nullptr, 0);
  return digest;
}

}  // namespace

absl::StatusOr<EvaluatedCount> EvaluateCount(const EventIndex& index, const CountQuery& query, uint32_t max_cells) {
  const auto& catalogue = index.catalogue();
  const auto& cohort = query.cohort();
  const int d = index.DatasetIndex(cohort.dataset());
  if (d < 0) return Invalid("cohort.dataset", absl::StrCat("\"", cohort.dataset(), "\" is not in the catalogue"));
  const trelink::v1::DatasetSpec& dataset = catalogue.proto().datasets(d);
  TRELINK_ASSIGN_OR_RETURN(absl::flat_hash_set<int> events, CompileEvents(dataset, cohort.events(), "cohort.events"));
  const int role = cohort.role().empty() ? 0 : IndexOf(dataset.roles(), cohort.role());
  if (role < 0) return Invalid("cohort.role", absl::StrCat("\"", cohort.role(), "\" is not a role of ", dataset.name()));
  auto [data_first, data_last] = index.DayRange(d);
  int32_t from = data_first, to = data_last;
  if (!cohort.from_date().empty() && !DayNumber(cohort.from_date(), from)) return Invalid("cohort.from_date", "not an ISO date");
  if (!cohort.to_date().empty() && !DayNumber(cohort.to_date(), to)) return Invalid("cohort.to_date", "not an ISO date");
  if (from > to) return Invalid("cohort.from_date", "after cohort.to_date");
  if (data_first > data_last || to < data_first || from > data_last) {
    return Invalid("cohort.from_date", data_first > data_last
                                           ? absl::StrCat("dataset ", dataset.name(), " has no events")
                                           : absl::StrCat("the range is outside the data (", YearOf(data_first),
                                                          " to ", YearOf(data_last), ")"));
  }
  TRELINK_ASSIGN_OR_RETURN(std::vector<AttributeFilter> filters, CompileFilters(dataset, cohort.filters(), "cohort.filters"));

  std::vector<CompiledFlag> flags;
  for (int i = 0; i < query.flags_size(); ++i) {
    const auto& f = query.flags(i);
    const std::string at = absl::StrCat("flags[", i, "]");
    if (f.name().empty()) return Invalid(at + ".name", "required");
    for (int j = 0; j < i; ++j) {
      if (query.flags(j).name() == f.name()) return Invalid(at + ".name", "duplicate flag name");
    }
    const int fd = index.DatasetIndex(f.dataset());
    if (fd < 0) return Invalid(at + ".dataset", absl::StrCat("\"", f.dataset(), "\" is not in the catalogue"));
    const auto& flag_dataset = catalogue.proto().datasets(fd);
    TRELINK_ASSIGN_OR_RETURN(auto flag_events, CompileEvents(flag_dataset, f.events(), at + ".events"));
    if (!f.any_time() && f.from_days() > f.to_days()) return Invalid(at + ".from_days", "greater than to_days");
    TRELINK_ASSIGN_OR_RETURN(auto flag_filters, CompileFilters(flag_dataset, f.filters(), at + ".filters"));
    flags.push_back({fd, std::move(flag_events), f.whom(), f.any_time(), f.from_days(), f.to_days(),
                     std::move(flag_filters), nullptr});
    trelink::v1::Flag what = f;
    what.clear_name();
    what.clear_whom();
    what.clear_from_days();
    what.clear_to_days();
    what.clear_any_time();
    IndexFlagEvents(index, what.SerializeAsString(), flags.back());
  }

  TRELINK_RETURN_IF_ERROR(CheckGroupBy(query.group_by()));
  EvaluatedCount result;
  std::vector<CompiledDimension> dims;
  std::vector<bool> flag_grouped(flags.size(), false);
  for (int i = 0; i < query.group_by_size(); ++i) {
    const Dimension& g = query.group_by(i);
    const std::string at = absl::StrCat("group_by[", i, "]");
    CompiledDimension dim{};
    std::vector<std::string> labels;
    if (g.has_attribute()) {
      const int a = [&] {
        for (int k = 0; k < dataset.attributes_size(); ++k) {
          if (dataset.attributes(k).name() == g.attribute()) return k;
        }
        return -1;
      }();
      if (a < 0) return Invalid(at + ".attribute", absl::StrCat("\"", g.attribute(), "\" is not an attribute of ", dataset.name()));
      const auto& spec = dataset.attributes(a);
      if (!spec.groupable()) return Invalid(at + ".attribute", absl::StrCat("\"", g.attribute(), "\" is not groupable"));
      dim = {CompiledDimension::kAttribute, a, 0, spec.type() == trelink::v1::AttributeSpec::INTEGER, 0};
      if (dim.integer) {
        dim.base = static_cast<int16_t>(spec.min());
        for (int64_t v = spec.min(); v <= spec.max(); ++v) labels.push_back(absl::StrCat(v));
      } else {
        labels.assign(spec.allowed_values().begin(), spec.allowed_values().end());
      }
      labels.push_back("missing");
      result.dimensions.push_back(g.attribute());
    } else if (g.has_flag()) {
      int f = -1;
      for (int k = 0; k < query.flags_size(); ++k) {
        if (query.flags(k).name() == g.flag()) f = k;
      }
      if (f < 0) return Invalid(at + ".flag", absl::StrCat("\"", g.flag(), "\" is not a flag of this query"));
      flag_grouped[static_cast<size_t>(f)] = true;
      dim = {CompiledDimension::kFlag, f, 0, false, 0};
      labels = {"no", "yes"};
      result.dimensions.push_back(g.flag());
    } else if (g.derived() == Dimension::EVENT_YEAR) {
      const int first = YearOf(std::max(from, data_first)), last = YearOf(std::min(to, data_last));
      dim = {CompiledDimension::kYear, 0, static_cast<int16_t>(first), false, 0};
      for (int y = first; y <= last; ++y) labels.push_back(absl::StrCat(y));
      result.dimensions.push_back("event_year");
    } else {
      return Invalid(at, "set one of attribute, flag or derived");
    }
    dim.size = static_cast<int>(labels.size());
    dims.push_back(dim);
    result.level_labels.push_back(std::move(labels));
  }
  if (query.include_totals() && dims.size() > kMaxDimensionsWithTotals) {
    return Invalid("include_totals", absl::StrCat("margins are produced for at most ", kMaxDimensionsWithTotals,
                                                  " dimensions"));
  }
  TRELINK_RETURN_IF_ERROR(CheckCellCount(dims, query.include_totals(), max_cells));

  // Evaluate: one population per interior cell and per margin, in a flat
  // array indexed by coordinates (position `size` on an axis is its margin).
  std::vector<int> sizes;
  std::vector<size_t> strides(dims.size(), 1);
  size_t flat_cells = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    sizes.insert(sizes.begin(), dims[i].size);
    strides[i] = flat_cells;
    flat_cells *= static_cast<size_t>(dims[i].size + 1);
  }
  std::vector<Population> populations(flat_cells);
  const bool margins = query.include_totals() && !dims.empty();
  std::vector<int> coords(dims.size());
  std::vector<int8_t> flag_value(flags.size());
  for (int event : events) {
    for (uint32_t e : index.EventsOf(d, event)) {
      const EventIndex::Event& ev = index.event(e);
      if (ev.day < from || ev.day > to || !PassesFilters(index, e, filters)) continue;
      int64_t subject = -1;
      for (const auto& participant : index.participants(e)) {
        if (participant.role == role) subject = participant.person;
      }
      if (subject < 0) continue;
      bool excluded = false;
      for (size_t f = 0; f < flags.size() && !excluded; ++f) {
        flag_value[f] = FlagHolds(index, flags[f], static_cast<uint32_t>(subject), ev.day) ? 1 : 0;
        excluded = !flag_grouped[f] && flag_value[f] == 0;
      }
      if (excluded) continue;
      size_t flat = 0;
      for (size_t i = 0; i < dims.size(); ++i) {
        const CompiledDimension& dim = dims[i];
        if (dim.kind == CompiledDimension::kFlag) {
          coords[i] = flag_value[static_cast<size_t>(dim.source)];
        } else if (dim.kind == CompiledDimension::kYear) {
          coords[i] = YearOf(ev.day) - dim.base;
        } else {
          const int16_t v = index.value(e, dim.source);
          const int level = v == EventIndex::kMissing ? -1 : (dim.integer ? v - dim.base : v);
          coords[i] = level < 0 || level >= dim.size - 1 ? dim.size - 1 : level;
        }
        flat += static_cast<size_t>(coords[i]) * strides[i];
      }
      const uint64_t id = static_cast<uint64_t>(subject);  // dense person index
      populations[flat].push_back(id);
      // Every margin the cell adds up into: each non-empty set of its
      // dimensions moved to their margin position.
      for (uint32_t mask = 1; margins && mask < (1u << dims.size()); ++mask) {
        size_t margin = flat;
        for (size_t i = 0; i < dims.size(); ++i) {
          if (mask & (1u << i)) margin += static_cast<size_t>(sizes[i] - coords[i]) * strides[i];
        }
        populations[margin].push_back(id);
      }
    }
  }
  // Every cell of the grid, empty ones included.
  result.table.dimension_sizes = sizes;
  std::vector<std::vector<int>> all = {{}};
  for (int size : sizes) {
    std::vector<std::vector<int>> next;
    const int low = query.include_totals() ? -1 : 0;
    for (const auto& prefix : all) {
      for (int v = low; v < size; ++v) {
        auto c = prefix;
        c.push_back(v);
        next.push_back(std::move(c));
      }
    }
    all = std::move(next);
  }
  for (auto& c : all) {
    size_t flat = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      flat += static_cast<size_t>(c[i] < 0 ? sizes[i] : c[i]) * strides[i];
    }
    Population population = std::move(populations[flat]);
    SortDistinct(population);
    result.table.cells.push_back({c, std::move(population), CellDefinition(query, result.level_labels, c)});
  }
  return result;
}

trelink::v1::CountTable ToCountTable(const CountQuery& query, const EvaluatedCount& evaluated,
                                     const std::string& policy_version, uint64_t generation) {
  trelink::v1::CountTable table;
  table.set_query_name(query.name());
  for (const auto& d : evaluated.dimensions) table.add_dimensions(d);
  table.set_policy_version(policy_version);
  table.set_generation(generation);
  for (const TableCell& cell : evaluated.table.cells) {
    auto* out = table.add_cells();
    bool total = false;
    for (size_t i = 0; i < cell.coords.size(); ++i) {
      if (cell.coords[i] < 0) {
        out->add_values("*");
        total = true;
      } else {
        out->add_values(evaluated.level_labels[i][static_cast<size_t>(cell.coords[i])]);
      }
    }
    out->set_is_total(total);
    out->set_count(cell.released);
    out->set_status(cell.status);
  }
  return table;
}

}  // namespace trelink
