// One participant's identifiers after normalisation, with the derived forms
// (initial, Soundex, year-month, ...) that keys are built from.
#pragma once

#include <array>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "common/identity/normalise.h"
#include "trelink/v1/identifiers.pb.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {

// What normalisation noticed, for the batch statistics.
struct NormalisationNotes {
  bool nhs_number_invalid = false;
  bool nhs_number_missing = false;
};

class ParticipantFields {
 public:
  // Normalises `ids`. A malformed date, sex or postcode, or a name holding a
  // control character (NUL included), is INVALID_ARGUMENT
  // whose message starts with the field name (e.g. "date_of_birth: ...") and
  // never contains the value. An invalid NHS number is not an error: it is
  // treated as missing and noted.
  absl::Status Assign(const trelink::v1::Identifiers& ids, const DateRange& dob_range,
                      NormalisationNotes& notes);

  // The normalised value of `field`; empty when missing.
  absl::string_view Get(trelink::v1::IdentifierField field) const {
    return values_[static_cast<size_t>(field) % kSlots];
  }

  // The normalised value of an identifier sent under Identifiers.other, in
  // the form `field` asks for; empty when missing or unreadable.
  std::string Other(const trelink::v1::OtherField& field) const;

 private:
  static constexpr size_t kSlots = 21;  // IdentifierField values fit below this
  std::array<std::string, kSlots> values_;
  const google::protobuf::Map<std::string, std::string>* other_ = nullptr;
};

}  // namespace trelink
