#include "common/csv/record_columns.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
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

void Set(trelink::v1::Identifiers& ids, int field, const std::string& other, std::string value) {
  switch (field) {
    case trelink::v1::Identifiers::kNhsNumberFieldNumber: ids.set_nhs_number(std::move(value)); break;
    case trelink::v1::Identifiers::kGivenNameFieldNumber: ids.set_given_name(std::move(value)); break;
    case trelink::v1::Identifiers::kFamilyNameFieldNumber: ids.set_family_name(std::move(value)); break;
    case trelink::v1::Identifiers::kDateOfBirthFieldNumber: ids.set_date_of_birth(std::move(value)); break;
    case trelink::v1::Identifiers::kSexFieldNumber: ids.set_sex(std::move(value)); break;
    case trelink::v1::Identifiers::kPostcodeFieldNumber: ids.set_postcode(std::move(value)); break;
    default: (*ids.mutable_other())[other] = std::move(value); break;
  }
}

int FieldNumber(absl::string_view identifier) {
  for (const auto& [suffix, field] : kFieldSuffixes) {
    if (identifier == suffix) return field;
  }
  return 0;
}

int RoleIndex(const std::vector<std::string>& roles, absl::string_view role) {
  auto it = std::find(roles.begin(), roles.end(), role);
  return it == roles.end() ? -1 : static_cast<int>(it - roles.begin());
}

bool IsIdentifierName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<RecordColumns> RecordColumns::Create(const std::vector<std::string>& raw_header,
                                                    const trelink::v1::DatasetSpec& dataset) {
  RecordColumns columns;
  columns.roles_.assign(dataset.roles().begin(), dataset.roles().end());
  columns.implied_sex_.resize(columns.roles_.size());
  columns.postcode_from_.assign(columns.roles_.size(), -1);
  for (const auto& implied : dataset.role_implies()) {
    const int role = RoleIndex(columns.roles_, implied.role());
    if (role < 0) continue;
    if (!implied.sex().empty()) columns.implied_sex_[static_cast<size_t>(role)] = implied.sex();
    if (!implied.postcode_from_role().empty()) {
      columns.postcode_from_[static_cast<size_t>(role)] = RoleIndex(columns.roles_, implied.postcode_from_role());
    }
  }
  columns.default_event_ = dataset.default_event();
  columns.default_event_date_ = dataset.default_event_date();
  bool has_event = !columns.default_event_.empty(), has_date = !columns.default_event_date_.empty();
  std::vector<std::string> header;
  for (size_t c = 0; c < raw_header.size(); ++c) {
    const std::string name(absl::StripAsciiWhitespace(raw_header[c]));
    const std::string at = absl::StrCat("header column ", c + 1, " \"", name, "\"");
    // A repeated column would let the later cell silently override the
    // earlier one.
    const auto earlier = std::find(header.begin(), header.end(), name);
    if (earlier != header.end()) {
      return absl::InvalidArgumentError(absl::StrCat(at, " repeats column ", earlier - header.begin() + 1));
    }
    header.push_back(name);
    Column column;
    column.name = name;
    const auto mapped = std::find_if(dataset.identifier_columns().begin(), dataset.identifier_columns().end(),
                                     [&](const auto& m) { return m.column() == name; });
    if (mapped != dataset.identifier_columns().end()) {
      column.kind = Kind::kIdentifier;
      column.role = mapped->role().empty() ? 0 : RoleIndex(columns.roles_, mapped->role());
      column.field = FieldNumber(mapped->identifier());
      if (column.field == 0) column.other = mapped->identifier();
      column.compact_date = mapped->date_format() == "YYYYMMDD";
      column.invalid_as_missing = mapped->invalid_as_missing();
      if (column.role < 0 || (column.field == 0 && !IsIdentifierName(column.other))) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": its identifier_columns entry names no role or identifier"));
      }
    } else if (name == "record_id" ||
               std::find(dataset.provider_columns().begin(), dataset.provider_columns().end(), name) !=
                   dataset.provider_columns().end()) {
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
        column.role = RoleIndex(columns.roles_, role);
        if (column.role < 0) break;
        column.kind = Kind::kIdentifier;
        column.field = field;
        break;
      }
      if (column.kind != Kind::kIdentifier) {
        return absl::InvalidArgumentError(absl::StrCat(at, " is not a column of dataset ", dataset.name()));
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

bool RecordColumns::ReadIdentifier(const Column& column, std::string& value) {
  if (column.field != trelink::v1::Identifiers::kDateOfBirthFieldNumber) return true;
  absl::CivilDay day;
  if (column.compact_date && value.size() == 8 &&
      std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    value = absl::StrCat(value.substr(0, 4), "-", value.substr(4, 2), "-", value.substr(6, 2));
  }
  if (!column.invalid_as_missing || ParseIsoDate(value, day)) return true;
  value.clear();
  return false;
}

int RecordColumns::Fill(const std::vector<std::string>& row, trelink::v1::IdentifierRecord& identifiers,
                        trelink::v1::ContentRecord& content) const {
  std::vector<trelink::v1::Participant> participants(roles_.size());
  std::vector<bool> present(roles_.size(), false);
  int unreadable = 0;
  if (!default_event_.empty()) content.set_event(default_event_);
  if (!default_event_date_.empty()) content.set_event_date(default_event_date_);
  for (size_t c = 0; c < columns_.size() && c < row.size(); ++c) {
    const Column& column = columns_[c];
    std::string value(absl::StripAsciiWhitespace(row[c]));
    switch (column.kind) {
      case Kind::kIdentifier:
        if (value.empty()) break;
        if (!ReadIdentifier(column, value)) {
          ++unreadable;
          break;
        }
        Set(*participants[static_cast<size_t>(column.role)].mutable_identifiers(), column.field, column.other,
            std::move(value));
        present[static_cast<size_t>(column.role)] = true;
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
    const int role = RoleIndex(roles_, attribute->age_bands().role());
    absl::CivilDay dob;
    if (!has_event_day || role < 0 ||
        !ParseIsoDate(participants[static_cast<size_t>(role)].identifiers().date_of_birth(), dob)) {
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
    const int from = postcode_from_[r];
    if (!present[r] || from < 0 || !present[static_cast<size_t>(from)]) continue;
    auto* ids = participants[r].mutable_identifiers();
    if (ids->postcode().empty()) ids->set_postcode(participants[static_cast<size_t>(from)].identifiers().postcode());
  }
  for (size_t r = 0; r < roles_.size(); ++r) {
    if (!present[r]) continue;
    participants[r].set_role(roles_[r]);
    auto* ids = participants[r].mutable_identifiers();
    if (ids->sex().empty() && !implied_sex_[r].empty()) ids->set_sex(implied_sex_[r]);
    *identifiers.add_participants() = std::move(participants[r]);
  }
  return unreadable;
}

std::string RecordColumns::ColumnOf(const std::string& role, const std::string& field) const {
  for (const Column& column : columns_) {
    bool match = false;
    switch (column.kind) {
      case Kind::kIdentifier: {
        if (role.empty() || roles_[static_cast<size_t>(column.role)] != role) break;
        const auto* proto_field = trelink::v1::Identifiers::descriptor()->FindFieldByName(field);
        match = column.field == 0 ? column.other == field
                                  : proto_field != nullptr && proto_field->number() == column.field;
        break;
      }
      case Kind::kEvent: match = role.empty() && field == "event"; break;
      case Kind::kEventDate: match = role.empty() && field == "event_date"; break;
      case Kind::kAttribute: match = role.empty() && field == absl::StrCat("attributes.", column.name); break;
      case Kind::kIgnored: break;
    }
    if (match) return column.name;
  }
  return "";
}

}  // namespace trelink
