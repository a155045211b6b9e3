#include "common/csv/record_columns.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/catalogue/catalogue.h"

namespace trelink {
namespace {

constexpr std::array<std::pair<absl::string_view, int>, 6> kFieldSuffixes = {{
    {"nhs_number", trelink::v1::Identifiers::kNhsNumberFieldNumber},
    {"given_name", trelink::v1::Identifiers::kGivenNameFieldNumber},
    {"family_name", trelink::v1::Identifiers::kFamilyNameFieldNumber},
    {"dob", trelink::v1::Identifiers::kDateOfBirthFieldNumber},
    {"sex", trelink::v1::Identifiers::kSexFieldNumber},
    {"postcode", trelink::v1::Identifiers::kPostcodeFieldNumber},
}};

void Set(trelink::v1::Identifiers& ids, int field, const std::string& value) {
  switch (field) {
    case trelink::v1::Identifiers::kNhsNumberFieldNumber: ids.set_nhs_number(value); break;
    case trelink::v1::Identifiers::kGivenNameFieldNumber: ids.set_given_name(value); break;
    case trelink::v1::Identifiers::kFamilyNameFieldNumber: ids.set_family_name(value); break;
    case trelink::v1::Identifiers::kDateOfBirthFieldNumber: ids.set_date_of_birth(value); break;
    case trelink::v1::Identifiers::kSexFieldNumber: ids.set_sex(value); break;
    case trelink::v1::Identifiers::kPostcodeFieldNumber: ids.set_postcode(value); break;
    default: break;
  }
}

}  // namespace

absl::StatusOr<RecordColumns> RecordColumns::Create(const std::vector<std::string>& header,
                                                    const trelink::v1::DatasetSpec& dataset) {
  RecordColumns columns;
  columns.roles_.assign(dataset.roles().begin(), dataset.roles().end());
  columns.implied_sex_.resize(columns.roles_.size());
  for (const auto& implied : dataset.role_implies()) {
    const auto role = std::find(columns.roles_.begin(), columns.roles_.end(), implied.role());
    if (role != columns.roles_.end()) columns.implied_sex_[static_cast<size_t>(role - columns.roles_.begin())] = implied.sex();
  }
  bool has_event = false, has_date = false;
  for (size_t c = 0; c < header.size(); ++c) {
    const std::string& name = header[c];
    // A repeated column would let the later cell silently override the
    // earlier one.
    const auto earlier = std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(c), name);
    if (earlier != header.begin() + static_cast<std::ptrdiff_t>(c)) {
      return absl::InvalidArgumentError(absl::StrCat("header column ", c + 1, " \"", name, "\" repeats column ",
                                                     earlier - header.begin() + 1));
    }
    Column column;
    column.name = name;
    if (name == "record_id") {
      column.kind = Kind::kIgnored;
    } else if (name == "event") {
      column.kind = Kind::kEvent;
      has_event = true;
    } else if (name == "event_date") {
      column.kind = Kind::kEventDate;
      has_date = true;
    } else if (std::any_of(dataset.attributes().begin(), dataset.attributes().end(),
                           [&](const auto& a) { return a.name() == name && !a.has_age_bands(); })) {
      column.kind = Kind::kAttribute;
    } else {
      for (const auto& [suffix, field] : kFieldSuffixes) {
        std::string role;
        if (name == suffix) {
          role = "person";
        } else if (absl::EndsWith(name, absl::StrCat("_", suffix))) {
          role = name.substr(0, name.size() - suffix.size() - 1);
        } else {
          continue;
        }
        auto it = std::find(columns.roles_.begin(), columns.roles_.end(), role);
        if (it == columns.roles_.end()) break;
        column.kind = Kind::kIdentifier;
        column.role = static_cast<int>(it - columns.roles_.begin());
        column.field = field;
        break;
      }
      if (column.kind != Kind::kIdentifier) {
        return absl::InvalidArgumentError(absl::StrCat("header column ", c + 1, " \"", name,
                                                       "\" is not a column of dataset ", dataset.name()));
      }
    }
    columns.columns_.push_back(std::move(column));
  }
  for (const auto& attribute : dataset.attributes()) {
    if (attribute.has_age_bands()) columns.derived_.push_back(&attribute);
  }
  if (!has_event || !has_date) {
    return absl::InvalidArgumentError("header: the columns event and event_date are required");
  }
  return columns;
}

absl::Status RecordColumns::ValidateEventAfterBirth(const trelink::v1::IdentifierRecord& identifiers,
                                                    const trelink::v1::ContentRecord& content) const {
  absl::CivilDay event_day;
  if (!ParseIsoDate(content.event_date(), event_day)) return absl::OkStatus();
  for (const trelink::v1::AttributeSpec* attribute : derived_) {
    const std::string& role = attribute->age_bands().role();
    for (const auto& participant : identifiers.participants()) {
      absl::CivilDay dob;
      if (participant.role() == role && ParseIsoDate(participant.identifiers().date_of_birth(), dob) &&
          event_day < dob) {
        return absl::InvalidArgumentError(absl::StrCat("event_date: before the ", role, "'s date_of_birth"));
      }
    }
  }
  return absl::OkStatus();
}

void RecordColumns::Fill(const std::vector<std::string>& row, trelink::v1::IdentifierRecord& identifiers,
                         trelink::v1::ContentRecord& content) const {
  std::vector<trelink::v1::Participant> participants(roles_.size());
  std::vector<bool> present(roles_.size(), false);
  for (size_t c = 0; c < columns_.size() && c < row.size(); ++c) {
    const Column& column = columns_[c];
    const std::string& value = row[c];
    switch (column.kind) {
      case Kind::kIdentifier:
        if (value.empty()) break;
        Set(*participants[column.role].mutable_identifiers(), column.field, value);
        present[column.role] = true;
        break;
      case Kind::kEvent: content.set_event(value); break;
      case Kind::kEventDate: content.set_event_date(value); break;
      case Kind::kAttribute:
        if (!value.empty()) (*content.mutable_attributes())[column.name] = value;
        break;
      case Kind::kIgnored: break;
    }
  }
  absl::CivilDay event_day;
  const bool has_event_day = ParseIsoDate(content.event_date(), event_day);
  for (const trelink::v1::AttributeSpec* attribute : derived_) {
    const auto role = std::find(roles_.begin(), roles_.end(), attribute->age_bands().role());
    absl::CivilDay dob;
    if (!has_event_day || role == roles_.end() ||
        !ParseIsoDate(participants[static_cast<size_t>(role - roles_.begin())].identifiers().date_of_birth(), dob)) {
      continue;  // missing: no band
    }
    const int64_t days = event_day - dob;
    for (const auto& band : attribute->age_bands().bands()) {
      if (days >= band.min_days() && days <= band.max_days()) {
        (*content.mutable_attributes())[attribute->name()] = band.label();
        break;
      }
    }
  }
  for (size_t r = 0; r < roles_.size(); ++r) {
    if (!present[r]) continue;
    participants[r].set_role(roles_[r]);
    auto* ids = participants[r].mutable_identifiers();
    if (ids->sex().empty() && !implied_sex_[r].empty()) ids->set_sex(implied_sex_[r]);
    *identifiers.add_participants() = std::move(participants[r]);
  }
}

}  // namespace trelink
