#include "bench/query_mix.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/config/text_config.h"

namespace trelink {
namespace {

using trelink::v1::AttributeSpec;
using trelink::v1::CountQuery;
using trelink::v1::Dimension;

std::vector<std::string> ValuesOf(const AttributeSpec& spec) {
  if (spec.type() == AttributeSpec::CODE) return {spec.allowed_values().begin(), spec.allowed_values().end()};
  std::vector<std::string> values;
  for (int64_t v = spec.min(); v <= spec.max(); ++v) values.push_back(absl::StrCat(v));
  return values;
}

bool Filtered(const CountQuery& query, const std::string& attribute) {
  const auto& filters = query.cohort().filters();
  return std::any_of(filters.begin(), filters.end(), [&](const auto& f) { return f.attribute() == attribute; });
}

bool Grouped(const CountQuery& query, const std::string& attribute) {
  const auto& dimensions = query.group_by();
  return std::any_of(dimensions.begin(), dimensions.end(), [&](const Dimension& d) { return d.attribute() == attribute; });
}

int YearOfDay(int32_t day) { return static_cast<int>((absl::CivilDay(1970, 1, 1) + day).year()); }

}  // namespace

absl::StatusOr<std::vector<NamedQuery>> LoadQueries(const std::string& dir, const std::string& project) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<NamedQuery> queries;
  for (const auto& file : files) {
    NamedQuery named{file.stem().string(), {}};
    if (absl::Status loaded = LoadTextConfig(file.string(), named.query); !loaded.ok()) return loaded;
    named.query.set_project(project);
    queries.push_back(std::move(named));
  }
  if (queries.empty()) return absl::NotFoundError(absl::StrCat(dir, ": no query files"));
  return queries;
}

QueryMix::QueryMix(std::vector<NamedQuery> templates, const EventIndex& index, uint64_t seed)
    : templates_(std::move(templates)), index_(index), random_(seed) {}

CountQuery QueryMix::Next() {
  const size_t i = asked_++;
  return i < templates_.size() ? templates_[i].query : Variant();
}

CountQuery QueryMix::Variant() {
  CountQuery query = templates_[Below(templates_.size())].query;
  query.set_name(absl::StrCat("variant ", asked_, " of ", query.name()));
  if (Coin()) VaryYears(query);
  if (Coin()) AddFilter(query);
  if (Coin()) Regroup(query);
  return query;
}

const trelink::v1::DatasetSpec& QueryMix::DatasetOf(const CountQuery& query) const {
  return *index_.catalogue().Find(query.cohort().dataset());
}

// A range of whole years inside the data.
void QueryMix::VaryYears(CountQuery& query) {
  const auto [first, last] = index_.DayRange(index_.DatasetIndex(query.cohort().dataset()));
  if (first > last) return;
  const int from = YearOfDay(first), to = YearOfDay(last);
  const int a = from + static_cast<int>(Below(static_cast<size_t>(to - from + 1)));
  const int b = from + static_cast<int>(Below(static_cast<size_t>(to - from + 1)));
  query.mutable_cohort()->set_from_date(absl::StrCat(std::min(a, b), "-01-01"));
  query.mutable_cohort()->set_to_date(absl::StrCat(std::max(a, b), "-12-31"));
}

// Restricts the cohort to some values of a groupable attribute it neither
// groups by nor filters on already.
void QueryMix::AddFilter(CountQuery& query) {
  std::vector<const AttributeSpec*> free;
  for (const AttributeSpec& spec : DatasetOf(query).attributes()) {
    if (spec.groupable() && !Grouped(query, spec.name()) && !Filtered(query, spec.name())) free.push_back(&spec);
  }
  if (free.empty()) return;
  const AttributeSpec& spec = *free[Below(free.size())];
  std::vector<std::string> values = ValuesOf(spec);
  if (values.size() < 2) return;
  std::shuffle(values.begin(), values.end(), random_);
  values.resize(1 + Below(values.size() - 1));  // a proper, non-empty subset
  auto* filter = query.mutable_cohort()->add_filters();
  filter->set_attribute(spec.name());
  for (const std::string& v : values) filter->add_values(v);
}

// One or two dimensions out of the dataset's free groupable attributes, the
// event year and the query's flags (a flag left out filters the cohort).
void QueryMix::Regroup(CountQuery& query) {
  std::vector<Dimension> candidates;
  for (const AttributeSpec& spec : DatasetOf(query).attributes()) {
    if (spec.groupable() && !Filtered(query, spec.name())) candidates.emplace_back().set_attribute(spec.name());
  }
  candidates.emplace_back().set_derived(Dimension::EVENT_YEAR);
  for (const auto& flag : query.flags()) candidates.emplace_back().set_flag(flag.name());
  std::shuffle(candidates.begin(), candidates.end(), random_);
  candidates.resize(std::min(candidates.size(), 1 + Below(2)));
  query.clear_group_by();
  for (Dimension& d : candidates) *query.add_group_by() = std::move(d);
}

}  // namespace trelink
