// Any bytes as each identifier a provider sends: name, date of birth, sex,
// postcode and NHS number. Besides not crashing (ICU sees bytes that are not
// UTF-8), each result must have the shape the match keys are built from, so
// a malformed value can never hash as if it were a different, valid one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/identity/normalise.h"

namespace {

void Require(bool holds) {
  if (!holds) std::abort();
}

bool All(absl::string_view s, bool (*is)(unsigned char)) {
  for (unsigned char c : s) {
    if (!is(c)) return false;
  }
  return true;
}

bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsUpperOrDigit(unsigned char c) { return IsUpper(c) || IsDigit(c); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view raw(reinterpret_cast<const char*>(data), size);

  const std::string name = trelink::NormaliseName(raw);
  Require(All(name, IsUpper));
  const absl::string_view canonical = trelink::CanonicalGivenName(name);
  Require(All(canonical, IsUpper));
  (void)trelink::IsPlaceholderGivenName(name);
  const std::string soundex = trelink::Soundex(name);
  Require(name.empty() ? soundex.empty() : soundex.size() == 4 && IsUpper(soundex[0]));

  const trelink::DateRange range{absl::CivilDay(1900, 1, 1), absl::CivilDay(2030, 12, 31)};
  absl::StatusOr<std::string> date = trelink::NormaliseDate(raw, range);
  if (date.ok() && !date->empty()) {
    Require(date->size() == 8 && All(*date, IsDigit));
    Require(*date >= "19000101" && *date <= "20301231");
  }

  absl::StatusOr<std::string> sex = trelink::NormaliseSex(raw);
  if (sex.ok()) Require(*sex == "" || *sex == "F" || *sex == "M");

  absl::StatusOr<trelink::NormalisedPostcode> postcode = trelink::NormalisePostcode(raw);
  if (postcode.ok()) {
    Require(All(postcode->full, IsUpperOrDigit) && All(postcode->district, IsUpperOrDigit));
    Require(postcode->district.size() <= 4);
    Require(postcode->full.empty() || absl::StartsWith(postcode->full, postcode->district));
  }

  std::string nhs;
  const trelink::NhsNumberCheck check = trelink::NormaliseNhsNumber(raw, nhs);
  Require(check == trelink::NhsNumberCheck::kValid ? nhs.size() == 10 && All(nhs, IsDigit) : nhs.empty());
  return 0;
}
