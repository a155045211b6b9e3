#include "common/catalogue/catalogue.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/text_config.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

using trelink::v1::AttributeSpec;
using trelink::v1::DatasetSpec;

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("catalogue ", where, ": ", what));
}

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

absl::Status ValidateAttribute(const std::string& where, const AttributeSpec& a) {
  if (!IsName(a.name())) return Invalid(where, "name must be 1-64 characters of [a-z0-9_-]");
  if (a.name() == "event" || a.name() == "event_date") return Invalid(where, "name is reserved");
  switch (a.type()) {
    case AttributeSpec::CODE:
      if (a.allowed_values().empty()) return Invalid(where, "a CODE attribute needs allowed_values");
      break;
    case AttributeSpec::INTEGER:
      if (a.min() > a.max()) return Invalid(where, "min is greater than max");
      break;
    case AttributeSpec::DATE:
    case AttributeSpec::TEXT:
      if (a.groupable()) return Invalid(where, "only CODE and INTEGER attributes can be groupable");
      break;
    default:
      return Invalid(where, "type must be CODE, INTEGER, DATE or TEXT");
  }
  return absl::OkStatus();
}

absl::Status ValidateAgeBands(const std::string& where, const DatasetSpec& d, const AttributeSpec& a) {
  if (!a.has_age_bands()) return absl::OkStatus();
  if (a.type() != AttributeSpec::CODE) return Invalid(where, "an age-band attribute must be CODE");
  if (!Contains(d.roles(), a.age_bands().role())) return Invalid(where, "age_bands.role is not a role of the dataset");
  if (a.age_bands().bands().empty()) return Invalid(where, "age_bands: no bands");
  for (const auto& band : a.age_bands().bands()) {
    if (band.min_days() > band.max_days() || band.min_days() < 0) {
      return Invalid(where, absl::StrCat("age band ", band.label(), ": min_days must be 0..max_days"));
    }
    if (!Contains(a.allowed_values(), band.label())) {
      return Invalid(where, absl::StrCat("age band ", band.label(), " is not in allowed_values"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDataset(const std::string& where, const DatasetSpec& d) {
  if (!IsName(d.name())) return Invalid(where, "name must be 1-64 characters of [a-z0-9_-]");
  if (d.roles().empty()) return Invalid(where, "at least one role");
  absl::flat_hash_set<std::string> seen;
  for (const std::string& role : d.roles()) {
    if (!IsName(role)) return Invalid(absl::StrCat(where, ".roles"), "role names are [a-z0-9_-]");
    if (!seen.insert(role).second) return Invalid(absl::StrCat(where, ".roles"), "duplicate role");
  }
  for (int i = 0; i < d.relations_size(); ++i) {
    const auto& r = d.relations(i);
    const std::string at = absl::StrCat(where, ".relations[", i, "]");
    if (!IsName(r.kind())) return Invalid(at, "kind is required");
    if (!Contains(d.roles(), r.from_role()) || !Contains(d.roles(), r.to_role()) || r.from_role() == r.to_role()) {
      return Invalid(at, "from_role and to_role must be two different roles of the dataset");
    }
  }
  if (d.events().empty()) return Invalid(where, "at least one event");
  seen.clear();
  for (const std::string& event : d.events()) {
    if (!IsName(event)) return Invalid(absl::StrCat(where, ".events"), "event names are [a-z0-9_-]");
    if (!seen.insert(event).second) return Invalid(absl::StrCat(where, ".events"), "duplicate event");
  }
  for (int i = 0; i < d.once_per_person_size(); ++i) {
    const auto& once = d.once_per_person(i);
    const std::string at = absl::StrCat(where, ".once_per_person[", i, "]");
    if (!Contains(d.roles(), once.role())) return Invalid(absl::StrCat(at, ".role"), "not a role of the dataset");
    if (once.events().empty()) return Invalid(absl::StrCat(at, ".events"), "name the events a person has once");
    for (const std::string& event : once.events()) {
      if (!Contains(d.events(), event)) return Invalid(absl::StrCat(at, ".events"), "not an event of the dataset");
    }
  }
  for (int i = 0; i < d.identifier_columns_size(); ++i) {
    const auto& column = d.identifier_columns(i);
    const std::string at = absl::StrCat(where, ".identifier_columns[", i, "]");
    if (column.column().empty()) return Invalid(absl::StrCat(at, ".column"), "required");
    if (!column.role().empty() && !Contains(d.roles(), column.role())) {
      return Invalid(absl::StrCat(at, ".role"), "not a role of the dataset");
    }
    if (!IsName(column.identifier())) return Invalid(absl::StrCat(at, ".identifier"), "required, [a-z0-9_-]");
    if (!column.date_format().empty() && column.date_format() != "YYYY-MM-DD" && column.date_format() != "YYYYMMDD") {
      return Invalid(absl::StrCat(at, ".date_format"), "YYYY-MM-DD or YYYYMMDD");
    }
  }
  if (!d.default_event().empty() && !Contains(d.events(), d.default_event())) {
    return Invalid(absl::StrCat(where, ".default_event"), "not an event of the dataset");
  }
  absl::CivilDay default_day;
  if (!d.default_event_date().empty() && !ParseIsoDate(d.default_event_date(), default_day)) {
    return Invalid(absl::StrCat(where, ".default_event_date"), "not an ISO date");
  }
  for (int i = 0; i < d.role_implies_size(); ++i) {
    const auto& implied = d.role_implies(i);
    const std::string at = absl::StrCat(where, ".role_implies[", i, "]");
    if (!Contains(d.roles(), implied.role())) return Invalid(absl::StrCat(at, ".role"), "not a role of the dataset");
    if (!implied.sex().empty() && implied.sex() != "F" && implied.sex() != "M") {
      return Invalid(absl::StrCat(at, ".sex"), "must be F or M");
    }
    if (!implied.postcode_from_role().empty() &&
        (!Contains(d.roles(), implied.postcode_from_role()) || implied.postcode_from_role() == implied.role())) {
      return Invalid(absl::StrCat(at, ".postcode_from_role"), "not another role of the dataset");
    }
    if (implied.sex().empty() && implied.postcode_from_role().empty()) {
      return Invalid(at, "implies nothing: set sex or postcode_from_role");
    }
  }
  seen.clear();
  for (int i = 0; i < d.attributes_size(); ++i) {
    const std::string at = absl::StrCat(where, ".attributes[", i, "]");
    TRELINK_RETURN_IF_ERROR(ValidateAttribute(at, d.attributes(i)));
    TRELINK_RETURN_IF_ERROR(ValidateAgeBands(at, d, d.attributes(i)));
    if (!seen.insert(d.attributes(i).name()).second) return Invalid(at, "duplicate attribute");
  }
  return absl::OkStatus();
}

}  // namespace

bool ParseIsoDate(absl::string_view text, absl::CivilDay& day) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  if (!absl::SimpleAtoi(text.substr(0, 4), &y) || !absl::SimpleAtoi(text.substr(5, 2), &m) ||
      !absl::SimpleAtoi(text.substr(8, 2), &d)) {
    return false;
  }
  day = absl::CivilDay(y, m, d);
  return day.year() == y && day.month() == m && day.day() == d;
}

absl::StatusOr<Catalogue> Catalogue::Create(const trelink::v1::Catalogue& config) {
  Catalogue catalogue;
  if (config.datasets().empty()) return Invalid("", "no datasets");
  for (int i = 0; i < config.datasets_size(); ++i) {
    const DatasetSpec& d = config.datasets(i);
    const std::string where = absl::StrCat("datasets[", i, "]");
    TRELINK_RETURN_IF_ERROR(ValidateDataset(where, d));
    if (!catalogue.index_.emplace(d.name(), i).second) return Invalid(where, "duplicate dataset name");
    DateRange range{absl::CivilDay(1900, 1, 1), absl::CivilDay(2100, 1, 1)};
    if (!d.earliest_event_date().empty() && !ParseIsoDate(d.earliest_event_date(), range.earliest)) {
      return Invalid(where, "earliest_event_date is not an ISO date");
    }
    if (!d.latest_event_date().empty() && !ParseIsoDate(d.latest_event_date(), range.latest)) {
      return Invalid(where, "latest_event_date is not an ISO date");
    }
    if (range.earliest > range.latest) return Invalid(where, "earliest_event_date is after latest_event_date");
    catalogue.event_dates_[d.name()] = range;
  }
  catalogue.config_ = config;
  return catalogue;
}

absl::StatusOr<Catalogue> Catalogue::Load(const std::string& path) {
  trelink::v1::Catalogue config;
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(path, config));
  absl::StatusOr<Catalogue> catalogue = Create(config);
  if (!catalogue.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", catalogue.status().message()));
  }
  return catalogue;
}

absl::Status Catalogue::ValidateRole(const DatasetSpec& dataset, absl::string_view role) {
  if (std::find(dataset.roles().begin(), dataset.roles().end(), role) == dataset.roles().end()) {
    return FieldError("role", absl::StrCat("\"", role, "\" is not a role of dataset ", dataset.name()));
  }
  return absl::OkStatus();
}

absl::Status ValidateEventNotFuture(const trelink::v1::ContentRecord& record, absl::CivilDay today) {
  absl::CivilDay date;
  if (ParseIsoDate(record.event_date(), date) && date > today) {
    return FieldError("event_date", "after today");
  }
  return absl::OkStatus();
}

const DatasetSpec* Catalogue::Find(absl::string_view dataset) const {
  auto it = index_.find(dataset);
  return it == index_.end() ? nullptr : &config_.datasets(it->second);
}

absl::Status Catalogue::ValidateContent(const DatasetSpec& dataset, const trelink::v1::ContentRecord& record) const {
  if (!Contains(dataset.events(), record.event())) {
    return FieldError("event", absl::StrCat("not an event of dataset ", dataset.name(), " (see the catalogue)"));
  }
  absl::CivilDay date;
  if (!ParseIsoDate(record.event_date(), date)) {
    return FieldError("event_date", "not an ISO date YYYY-MM-DD");
  }
  const DateRange& range = event_dates_.at(dataset.name());
  if (date < range.earliest || date > range.latest) {
    return FieldError("event_date", absl::StrCat("outside the dataset's range ", dataset.earliest_event_date(), " to ",
                                                 dataset.latest_event_date()));
  }
  for (const auto& attribute : record.attributes()) {
    // Not a structured binding: C++17 lambdas cannot capture one (clang
    // refuses; the fuzzers are built with it).
    const std::string& name = attribute.first;
    const std::string& value = attribute.second;
    const auto it = std::find_if(dataset.attributes().begin(), dataset.attributes().end(),
                                 [&](const AttributeSpec& a) { return a.name() == name; });
    if (it == dataset.attributes().end()) {
      return FieldError(absl::StrCat("attributes.", name), absl::StrCat("not an attribute of dataset ", dataset.name()));
    }
    if (value.empty()) continue;  // missing
    const std::string field = absl::StrCat("attributes.", name);
    switch (it->type()) {
      case AttributeSpec::CODE:
        if (!Contains(it->allowed_values(), value)) {
          return FieldError(field, "not one of the catalogue's allowed values");
        }
        break;
      case AttributeSpec::INTEGER: {
        int64_t n = 0;
        if (!absl::SimpleAtoi(value, &n)) return FieldError(field, "not an integer");
        if (n < it->min() || n > it->max()) {
          return FieldError(field, absl::StrCat("outside ", it->min(), "..", it->max()));
        }
        break;
      }
      case AttributeSpec::DATE: {
        absl::CivilDay day;
        if (!ParseIsoDate(value, day)) return FieldError(field, "not an ISO date");
        break;
      }
      case AttributeSpec::TEXT:
        if (value.size() > 64 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= ' ' && c < 127; })) {
          return FieldError(field, "must be up to 64 printable ASCII characters");
        }
        break;
      default:
        break;
    }
  }
  for (const AttributeSpec& a : dataset.attributes()) {
    if (!a.required()) continue;
    auto it = record.attributes().find(a.name());
    if (it == record.attributes().end() || it->second.empty()) {
      return FieldError(absl::StrCat("attributes.", a.name()), "required");
    }
  }
  return absl::OkStatus();
}

}  // namespace trelink
