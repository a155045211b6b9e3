// Normalisation of identifying fields, so that the same person's identifiers
// hash to the same value however a provider wrote them. Every function is
// pure; errors describe the problem without repeating the value, because the
// value is an identifier.
//
// Names: transliterated to ASCII (ICU "Any-Latin; Latin-ASCII" for non-ASCII
// text, so "Zoë" and "ZOE" agree and "Łukasz" becomes "LUKASZ"), upper-cased,
// everything but letters removed (spaces, hyphens, apostrophes: "O'Neil-Smith"
// becomes "ONEILSMITH"), and a leading title (MR, MRS, MS, MISS, DR) dropped
// when more words follow.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace trelink {

enum class NhsNumberCheck { kValid, kMissing, kInvalid };

// Accepts 10 digits with optional spaces or hyphens, checks the modulus-11
// check digit and rejects placeholder numbers made of one repeated digit.
// On kValid, `out` holds the 10 digits.
NhsNumberCheck NormaliseNhsNumber(absl::string_view raw, std::string& out);

// Returns the normalised name; empty when nothing is left.
std::string NormaliseName(absl::string_view raw);

// Maps a normalised given name to its formal form when it is a common English
// nickname ("BILL" -> "WILLIAM", "BETH" -> "ELIZABETH"); otherwise returns it.
absl::string_view CanonicalGivenName(absl::string_view normalised);

// True for a normalised given name that stands for "no name yet" (an
// unnamed newborn recorded as "Baby", "Unknown", "Twin 1"): such a name says
// nothing about who the person is and is treated as missing.
bool IsPlaceholderGivenName(absl::string_view normalised);

// American Soundex of a normalised name ("ROBERT" -> "R163"); empty for "".
std::string Soundex(absl::string_view normalised);

// The range in which a date of birth is plausible.
struct DateRange {
  absl::CivilDay earliest;
  absl::CivilDay latest;
};

// Parses an ISO date YYYY-MM-DD, checks it exists and lies in `range`, and
// returns it as "YYYYMMDD". Empty input is an empty result (missing).
absl::StatusOr<std::string> NormaliseDate(absl::string_view raw, const DateRange& range);

// F, M or U in any case; U and empty are returned as "" (missing).
absl::StatusOr<std::string> NormaliseSex(absl::string_view raw);

struct NormalisedPostcode {
  std::string full;      // "LS61AN", empty when only a district was given
  std::string district;  // outward code, "LS6"
};

// Accepts a full UK postcode or an outward code alone, any case or spacing.
absl::StatusOr<NormalisedPostcode> NormalisePostcode(absl::string_view raw);

}  // namespace trelink
