#include "common/pseudonym/key_schema.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

using trelink::v1::IdentifierField;
using trelink::v1::KeySchema;
using trelink::v1::KeySpec;

bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

void Add(KeySchema& schema, const std::string& name, KeySpec::Kind kind,
         std::initializer_list<IdentifierField> fields) {
  KeySpec* spec = schema.add_keys();
  spec->set_name(name);
  spec->set_kind(kind);
  for (IdentifierField f : fields) spec->add_fields(f);
}

}  // namespace

absl::Status ValidateKeySchema(const KeySchema& schema) {
  if (schema.keys().empty()) return absl::InvalidArgumentError("key_schema: no keys configured");
  std::set<std::string> names;
  std::map<std::string, int> other_normalisation;
  for (int i = 0; i < schema.keys_size(); ++i) {
    const KeySpec& spec = schema.keys(i);
    const std::string where = absl::StrCat("key_schema.keys[", i, "]");
    if (!IsValidName(spec.name())) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: must be 1-64 characters of [a-z0-9_.-]"));
    }
    if (!names.insert(spec.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: duplicate name \"", spec.name(), "\""));
    }
    if (spec.kind() != KeySpec::MATCH_KEY && spec.kind() != KeySpec::FIELD_TOKEN) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".kind: must be MATCH_KEY or FIELD_TOKEN"));
    }
    if (spec.fields().empty() && spec.other_fields().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".fields: empty"));
    }
    for (int o = 0; o < spec.other_fields_size(); ++o) {
      const auto& other = spec.other_fields(o);
      const std::string at = absl::StrCat(where, ".other_fields[", o, "]");
      if (!IsValidName(other.name())) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".name: must be 1-64 characters of [a-z0-9_.-]"));
      }
      if (other.normalisation() == trelink::v1::OtherField::NORMALISATION_UNSPECIFIED ||
          !trelink::v1::OtherField::Normalisation_IsValid(other.normalisation())) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".normalisation: NAME, DIGITS or CODE"));
      }
      if (other.form() == trelink::v1::OtherField::PHONETIC && other.normalisation() != trelink::v1::OtherField::NAME) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".form: PHONETIC needs normalisation NAME"));
      }
      auto [it, fresh] = other_normalisation.try_emplace(other.name(), other.normalisation());
      if (!fresh && it->second != other.normalisation()) {
        return absl::InvalidArgumentError(
            absl::StrCat(at, ".normalisation: \"", other.name(), "\" is normalised differently by another key"));
      }
    }
    for (int f : spec.fields()) {
      if (f == trelink::v1::IDENTIFIER_FIELD_UNSPECIFIED || !trelink::v1::IdentifierField_IsValid(f)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".fields: unspecified or unknown field"));
      }
    }
  }
  return absl::OkStatus();
}

std::set<std::string> OtherIdentifierNames(const KeySchema& schema) {
  std::set<std::string> names;
  for (const KeySpec& spec : schema.keys()) {
    for (const auto& other : spec.other_fields()) names.insert(other.name());
  }
  return names;
}

KeySchema DefaultKeySchema() {
  using namespace trelink::v1;  // NOLINT: the enum values read better bare
  KeySchema s;
  Add(s, "nhs", KeySpec::MATCH_KEY, {NHS_NUMBER});
  // No sex in the key: mothers and court parents have no sex column. Sex
  // stays a guard (sets of different sexes are never joined).
  Add(s, "name_dob", KeySpec::MATCH_KEY, {FAMILY_NAME, GIVEN_NAME, DATE_OF_BIRTH});
  Add(s, "initial_phonetic_dob_district", KeySpec::MATCH_KEY,
      {GIVEN_INITIAL, FAMILY_NAME_PHONETIC, DATE_OF_BIRTH, POSTCODE_DISTRICT});
  Add(s, "dob_postcode_given", KeySpec::MATCH_KEY, {DATE_OF_BIRTH, POSTCODE, GIVEN_NAME});
  Add(s, "t.given_name", KeySpec::FIELD_TOKEN, {GIVEN_NAME_CANONICAL});
  Add(s, "t.given_phonetic", KeySpec::FIELD_TOKEN, {GIVEN_NAME_PHONETIC});
  Add(s, "t.family_name", KeySpec::FIELD_TOKEN, {FAMILY_NAME});
  Add(s, "t.family_phonetic", KeySpec::FIELD_TOKEN, {FAMILY_NAME_PHONETIC});
  Add(s, "t.names_unordered", KeySpec::FIELD_TOKEN, {NAMES_UNORDERED});
  Add(s, "t.dob", KeySpec::FIELD_TOKEN, {DATE_OF_BIRTH});
  Add(s, "t.dob_year_month", KeySpec::FIELD_TOKEN, {DOB_YEAR_MONTH});
  Add(s, "t.dob_day_month_unordered", KeySpec::FIELD_TOKEN, {DOB_DAY_MONTH_UNORDERED});
  Add(s, "t.dob_year_window_even", KeySpec::FIELD_TOKEN, {DOB_YEAR_WINDOW_EVEN});
  Add(s, "t.dob_year_window_odd", KeySpec::FIELD_TOKEN, {DOB_YEAR_WINDOW_ODD});
  Add(s, "t.sex", KeySpec::FIELD_TOKEN, {SEX});
  Add(s, "t.postcode", KeySpec::FIELD_TOKEN, {POSTCODE});
  Add(s, "t.postcode_district", KeySpec::FIELD_TOKEN, {POSTCODE_DISTRICT});
  Add(s, "t.nhs", KeySpec::FIELD_TOKEN, {NHS_NUMBER});
  return s;
}

}  // namespace trelink
