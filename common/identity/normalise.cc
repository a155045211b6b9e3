// NHS numbers, dates, sex and postcodes.
#include "common/identity/normalise.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace trelink {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return c >= 'A' && c <= 'Z'; }

absl::string_view Trim(absl::string_view s) { return absl::StripAsciiWhitespace(s); }

// Outward codes: A9, A99, AA9, AA99, A9A, AA9A.
bool IsOutwardCode(absl::string_view s) {
  if (s.size() < 2 || s.size() > 4 || !IsLetter(s[0])) return false;
  size_t i = IsLetter(s[1]) ? 2 : 1;
  if (i >= s.size() || !IsDigit(s[i])) return false;
  ++i;
  if (i == s.size()) return true;
  if (i + 1 != s.size()) return false;
  return IsDigit(s[i]) || IsLetter(s[i]);
}

bool IsInwardCode(absl::string_view s) {
  return s.size() == 3 && IsDigit(s[0]) && IsLetter(s[1]) && IsLetter(s[2]);
}

}  // namespace

NhsNumberCheck NormaliseNhsNumber(absl::string_view raw, std::string& out) {
  out.clear();
  for (char c : raw) {
    if (IsDigit(c)) {
      out.push_back(c);
    } else if (c != ' ' && c != '-' && c != '\t') {
      out.clear();
      return NhsNumberCheck::kInvalid;
    }
  }
  if (out.empty()) return NhsNumberCheck::kMissing;
  bool one_digit_repeated = true;
  for (char c : out) one_digit_repeated = one_digit_repeated && c == out[0];
  int sum = 0;
  if (out.size() == 10) {
    for (int i = 0; i < 9; ++i) sum += (out[i] - '0') * (10 - i);
  }
  int check = 11 - sum % 11;
  if (check == 11) check = 0;
  if (out.size() != 10 || check == 10 || check != out[9] - '0' || one_digit_repeated) {
    out.clear();
    return NhsNumberCheck::kInvalid;
  }
  return NhsNumberCheck::kValid;
}

absl::StatusOr<std::string> NormaliseDate(absl::string_view raw, const DateRange& range) {
  const absl::string_view s = Trim(raw);
  if (s.empty()) return std::string();
  int year = 0, month = 0, day = 0;
  const bool shaped = s.size() == 10 && s[4] == '-' && s[7] == '-' &&
                      absl::SimpleAtoi(s.substr(0, 4), &year) && absl::SimpleAtoi(s.substr(5, 2), &month) &&
                      absl::SimpleAtoi(s.substr(8, 2), &day) && IsDigit(s[0]) && IsDigit(s[5]) && IsDigit(s[8]);
  if (!shaped) return absl::InvalidArgumentError("not an ISO date YYYY-MM-DD");
  const absl::CivilDay date(year, month, day);
  if (date.year() != year || date.month() != month || date.day() != day) {
    return absl::InvalidArgumentError("not a calendar date");
  }
  if (date > range.latest) return absl::InvalidArgumentError("date is in the future");
  if (date < range.earliest) {
    return absl::InvalidArgumentError(absl::StrFormat("date is before %04d-%02d-%02d, the earliest accepted",
                                                      range.earliest.year(), range.earliest.month(),
                                                      range.earliest.day()));
  }
  return absl::StrFormat("%04d%02d%02d", year, month, day);
}

absl::StatusOr<std::string> NormaliseSex(absl::string_view raw) {
  const absl::string_view s = Trim(raw);
  if (s.size() == 1) {
    const char c = absl::ascii_toupper(s[0]);
    if (c == 'F' || c == 'M') return std::string(1, c);
    if (c == 'U') return std::string();
  }
  if (s.empty()) return std::string();
  return absl::InvalidArgumentError("sex must be F, M or U");
}

absl::StatusOr<NormalisedPostcode> NormalisePostcode(absl::string_view raw) {
  std::string compact;
  for (char c : raw) {
    if (c == ' ' || c == '\t') continue;
    compact.push_back(absl::ascii_toupper(c));
  }
  NormalisedPostcode result;
  if (compact.empty()) return result;
  if (compact == "GIR0AA") {  // the one postcode outside the pattern
    result.full = compact;
    result.district = "GIR";
    return result;
  }
  if (IsOutwardCode(compact)) {
    result.district = compact;
    return result;
  }
  if (compact.size() >= 5) {
    const absl::string_view outward = absl::string_view(compact).substr(0, compact.size() - 3);
    const absl::string_view inward = absl::string_view(compact).substr(compact.size() - 3);
    if (IsOutwardCode(outward) && IsInwardCode(inward)) {
      result.district = std::string(outward);
      result.full = compact;
      return result;
    }
  }
  return absl::InvalidArgumentError("not a UK postcode or outward code");
}

}  // namespace trelink
