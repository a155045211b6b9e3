#include "common/pseudonym/participant_fields.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_violation.h"

namespace trelink {

using trelink::v1::IdentifierField;

namespace {

// Normalisation drops what is not a letter, so "Ame\0lia" would hash as
// "AMELIA"; a control byte in a name is a corrupt field, not a spelling.
absl::Status CheckNameText(absl::string_view field, absl::string_view name) {
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return FieldError(field, "contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParticipantFields::Assign(const trelink::v1::Identifiers& ids, const DateRange& dob_range,
                                       NormalisationNotes& notes) {
  auto slot = [this](IdentifierField f) -> std::string& { return values_[static_cast<size_t>(f)]; };
  for (std::string& v : values_) v.clear();
  other_ = &ids.other();

  switch (NormaliseNhsNumber(ids.nhs_number(), slot(trelink::v1::NHS_NUMBER))) {
    case NhsNumberCheck::kValid: break;
    case NhsNumberCheck::kMissing: notes.nhs_number_missing = true; break;
    case NhsNumberCheck::kInvalid: notes.nhs_number_invalid = true; break;
  }

  absl::StatusOr<std::string> dob = NormaliseDate(ids.date_of_birth(), dob_range);
  if (!dob.ok()) return FieldError("date_of_birth", dob.status().message());
  absl::StatusOr<std::string> sex = NormaliseSex(ids.sex());
  if (!sex.ok()) return FieldError("sex", sex.status().message());
  absl::StatusOr<NormalisedPostcode> postcode = NormalisePostcode(ids.postcode());
  if (!postcode.ok()) return FieldError("postcode", postcode.status().message());

  if (absl::Status s = CheckNameText("given_name", ids.given_name()); !s.ok()) return s;
  if (absl::Status s = CheckNameText("family_name", ids.family_name()); !s.ok()) return s;
  std::string given = NormaliseName(ids.given_name());
  if (IsPlaceholderGivenName(given)) given.clear();
  const std::string family = NormaliseName(ids.family_name());
  slot(trelink::v1::GIVEN_NAME) = given;
  slot(trelink::v1::FAMILY_NAME) = family;
  slot(trelink::v1::SEX) = *std::move(sex);
  slot(trelink::v1::POSTCODE) = std::move(postcode->full);
  slot(trelink::v1::POSTCODE_DISTRICT) = std::move(postcode->district);

  if (!given.empty()) {
    slot(trelink::v1::GIVEN_INITIAL) = given.substr(0, 1);
    slot(trelink::v1::GIVEN_NAME_CANONICAL) = std::string(CanonicalGivenName(given));
    slot(trelink::v1::GIVEN_NAME_PHONETIC) = Soundex(given);
  }
  if (!family.empty()) slot(trelink::v1::FAMILY_NAME_PHONETIC) = Soundex(family);
  if (!given.empty() && !family.empty()) {
    const auto [low, high] = std::minmax(given, family);
    slot(trelink::v1::NAMES_UNORDERED) = absl::StrCat(low, "|", high);
  }
  if (!dob->empty()) {
    const std::string& d = *dob;  // YYYYMMDD
    slot(trelink::v1::DOB_YEAR) = d.substr(0, 4);
    int year = 0;
    if (absl::SimpleAtoi(d.substr(0, 4), &year)) {
      slot(trelink::v1::DOB_YEAR_WINDOW_EVEN) = absl::StrCat(year / 2);
      slot(trelink::v1::DOB_YEAR_WINDOW_ODD) = absl::StrCat((year + 1) / 2);
    }
    slot(trelink::v1::DOB_YEAR_MONTH) = d.substr(0, 6);
    const std::string month = d.substr(4, 2), day = d.substr(6, 2);
    slot(trelink::v1::DOB_DAY_MONTH_UNORDERED) =
        absl::StrCat(d.substr(0, 4), std::min(month, day), std::max(month, day));
    slot(trelink::v1::DATE_OF_BIRTH) = *std::move(dob);
  }
  return absl::OkStatus();
}

std::string ParticipantFields::Other(const trelink::v1::OtherField& field) const {
  if (other_ == nullptr) return "";
  auto it = other_->find(field.name());
  if (it == other_->end()) return "";
  std::string value;
  switch (field.normalisation()) {
    case trelink::v1::OtherField::NAME: value = NormaliseName(it->second); break;
    case trelink::v1::OtherField::DIGITS:
      for (char c : it->second) {
        if (c >= '0' && c <= '9') {
          value.push_back(c);
        } else if (c != ' ' && c != '-') {
          return "";  // not a number: treated as missing
        }
      }
      break;
    case trelink::v1::OtherField::CODE:
      for (char c : it->second) {
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) value.push_back(c);
        if (c >= 'a' && c <= 'z') value.push_back(static_cast<char>(c - 'a' + 'A'));
      }
      break;
    default: return "";
  }
  if (field.form() == trelink::v1::OtherField::PHONETIC) return Soundex(value);
  return value;
}

}  // namespace trelink
