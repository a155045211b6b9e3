// Splits a dataset CSV's rows into the identifier half (for the
// pseudonymiser) and the content half (for the linker), by header name
// (surrounding spaces ignored):
//
//   - a column the catalogue's identifier_columns names holds the identifier
//     it says, for the role it says (another TRE's files: "surname",
//     "date_of_birth" as YYYYMMDD, "soc_sec_id");
//   - otherwise `nhs_number`, `given_name`, `family_name`, `dob`, `sex`,
//     `postcode` belong to the participant "person"; `ROLE_FIELD`
//     (mother_dob, child_given_name, ...) to the participant ROLE, which must
//     be one of the dataset's roles;
//   - `event` and `event_date` are the content's event (or the dataset's
//     default_event and default_event_date, for a register);
//   - a column named after one of the dataset's attributes is content;
//   - `record_id` and the dataset's provider_columns stay with the provider;
//   - attributes with age bands are derived here from the role's date of
//     birth and the event date, so only the band leaves the provider;
//   - any other column, or a column named twice, is rejected, by name.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trelink/v1/catalogue.pb.h"
#include "trelink/v1/identifiers.pb.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

class RecordColumns {
 public:
  static absl::StatusOr<RecordColumns> Create(const std::vector<std::string>& header,
                                              const trelink::v1::DatasetSpec& dataset);

  // Fills both halves from a row. A participant whose identifier columns are
  // all empty is left out (a booking with no baby yet). Empty content cells
  // are missing. A present participant without a sex gets the one its role
  // implies (the catalogue's role_implies: a mother is female), and one
  // without a postcode the postcode of the role its role takes it from (a
  // newborn lives at its mother's address). Returns how
  // many values of invalid_as_missing columns could not be read and were
  // left out.
  int Fill(const std::vector<std::string>& row, trelink::v1::IdentifierRecord& identifiers,
           trelink::v1::ContentRecord& content) const;

  // INVALID_ARGUMENT when the event is before the date of birth of a role
  // an age band is measured from (the mother, the child): that role cannot
  // have had it, and its band would silently go missing. Other roles may
  // precede their birth (a baby named on its mother's booking). Dates that
  // do not parse are left to the other checks. Dates of birth never leave
  // the provider, so only it can check this.
  absl::Status ValidateEventAfterBirth(const trelink::v1::IdentifierRecord& identifiers,
                                       const trelink::v1::ContentRecord& content) const;

  size_t width() const { return columns_.size(); }

  // The header name of the column a validation message's field came from:
  // `field` is a trelink.v1.Identifiers field name or an other identifier
  // of participant `role`, or (role empty) "event", "event_date" or
  // "attributes.NAME". Empty when no column holds it (a catalogue default,
  // an age band derived from two columns).
  std::string ColumnOf(const std::string& role, const std::string& field) const;

 private:
  enum class Kind { kIgnored, kIdentifier, kEvent, kEventDate, kAttribute };
  struct Column {
    Kind kind = Kind::kIgnored;
    int role = -1;      // index into roles_
    int field = 0;      // trelink.v1.Identifiers field number; 0 for an other identifier
    std::string other;  // the other identifier's name
    bool compact_date = false;  // YYYYMMDD
    bool invalid_as_missing = false;
    std::string name;
  };
  RecordColumns() = default;
  // Reads an identifier cell: converts a compact date, and empties a value
  // that cannot be read when the column allows it (returns false then).
  static bool ReadIdentifier(const Column& column, std::string& value);

  std::vector<std::string> roles_;
  std::vector<std::string> implied_sex_;  // by role; empty: none implied
  std::vector<int> postcode_from_;         // by role; the role whose postcode it takes, or -1
  std::vector<Column> columns_;
  std::vector<const trelink::v1::AttributeSpec*> derived_;  // age-band attributes
  std::string default_event_, default_event_date_;
};

}  // namespace trelink
