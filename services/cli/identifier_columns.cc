#include "services/cli/identifier_columns.h"

#include <algorithm>
#include <array>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/strings/match.h"

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

IdentifierColumns::IdentifierColumns(const std::vector<std::string>& header) {
  for (const std::string& name : header) {
    Column column;
    for (const auto& [suffix, field] : kFieldSuffixes) {
      std::string role;
      if (name == suffix) {
        role = "person";
      } else if (absl::EndsWith(name, suffix) && name.size() > suffix.size() + 1 &&
                 name[name.size() - suffix.size() - 1] == '_') {
        role = name.substr(0, name.size() - suffix.size() - 1);
      } else {
        continue;
      }
      auto it = std::find(roles_.begin(), roles_.end(), role);
      if (it == roles_.end()) it = roles_.insert(roles_.end(), role);
      column.role = static_cast<int>(it - roles_.begin());
      column.field = field;
      break;
    }
    kinds_.push_back(column);
  }
}

void IdentifierColumns::Fill(const std::vector<std::string>& row, trelink::v1::IdentifierRecord& record) const {
  std::vector<trelink::v1::Participant> participants(roles_.size());
  std::vector<bool> present(roles_.size(), false);
  for (size_t c = 0; c < kinds_.size() && c < row.size(); ++c) {
    const Column& column = kinds_[c];
    if (column.role < 0 || row[c].empty()) continue;
    Set(*participants[column.role].mutable_identifiers(), column.field, row[c]);
    present[column.role] = true;
  }
  for (size_t r = 0; r < roles_.size(); ++r) {
    if (!present[r]) continue;
    participants[r].set_role(roles_[r]);
    *record.add_participants() = std::move(participants[r]);
  }
}

}  // namespace trelink
