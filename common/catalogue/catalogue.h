// The data catalogue, validated: datasets, their participant roles and
// relations, events, and typed attributes. Built only through Create(), so
// an invalid catalogue cannot exist; content records are checked against it
// before anything is stored.
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "trelink/v1/catalogue.pb.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {

class Catalogue {
 public:
  static absl::StatusOr<Catalogue> Create(const trelink::v1::Catalogue& config);
  static absl::StatusOr<Catalogue> Load(const std::string& path);

  // Null when there is no such dataset.
  const trelink::v1::DatasetSpec* Find(absl::string_view dataset) const;
  const trelink::v1::Catalogue& proto() const { return config_; }

  // Checks one content record of `dataset`: event known, event date a real
  // date in the dataset's range, every attribute declared and of its type,
  // required attributes present. Errors start with the field
  // ("attributes.region: ...") and never quote a value.
  absl::Status ValidateContent(const trelink::v1::DatasetSpec& dataset,
                               const trelink::v1::ContentRecord& record) const;

  // INVALID_ARGUMENT starting "role: " unless `role` is a participant role
  // of `dataset`. Role names are catalogue terms, not personal data, so the
  // message quotes it.
  static absl::Status ValidateRole(const trelink::v1::DatasetSpec& dataset, absl::string_view role);

 private:
  struct DateRange {
    absl::CivilDay earliest;
    absl::CivilDay latest;
  };
  Catalogue() = default;
  trelink::v1::Catalogue config_;
  absl::flat_hash_map<std::string, int> index_;
  absl::flat_hash_map<std::string, DateRange> event_dates_;
};

// Parses an ISO YYYY-MM-DD date strictly (a real calendar date).
bool ParseIsoDate(absl::string_view text, absl::CivilDay& day);

// INVALID_ARGUMENT "event_date: after today" when the record's event date is
// later than `today` (from the caller's clock): an event that has not
// happened is a keying error. A date that does not parse is left to
// ValidateContent.
absl::Status ValidateEventNotFuture(const trelink::v1::ContentRecord& record, absl::CivilDay today);

}  // namespace trelink
