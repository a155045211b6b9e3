// Identifier batches for service tests.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "trelink/v1/linkage.pb.h"
#include "trelink/v1/pseudonym.pb.h"

namespace trelink::testing {

// A batch of `records` mother-and-baby records with valid identifiers. The
// family name "Quennell-Ashdown" and NHS number 9434765919 are distinctive,
// so tests can search logs for them.
inline trelink::v1::PseudonymiseBatchRequest MaternityBatch(const std::string& batch_id, int records,
                                                           const std::string& project = "demo") {
  trelink::v1::PseudonymiseBatchRequest request;
  request.set_project(project);
  request.set_dataset("maternity");
  request.set_batch_id(batch_id);
  for (int i = 0; i < records; ++i) {
    auto* record = request.add_records();
    auto* mother = record->add_participants();
    mother->set_role("mother");
    auto* m = mother->mutable_identifiers();
    m->set_nhs_number("943 476 5919");
    m->set_given_name(absl::StrCat("Amelia", std::string(1, static_cast<char>('a' + i % 26))));
    m->set_family_name("Quennell-Ashdown");
    m->set_date_of_birth("1991-03-14");
    m->set_sex("F");
    m->set_postcode("LS6 1AN");
    auto* baby = record->add_participants();
    baby->set_role("baby");
    auto* b = baby->mutable_identifiers();
    b->set_given_name("Olivia");
    b->set_family_name("Quennell-Ashdown");
    b->set_date_of_birth("2020-02-11");
    b->set_sex("F");
  }
  return request;
}

// The `n`th of a series of distinct valid NHS numbers (modulus-11 check digit).
inline std::string SeriesNhsNumber(int n) {
  for (int64_t base = 400000000 + 10 * static_cast<int64_t>(n);; ++base) {
    const std::string digits = std::to_string(base);
    int sum = 0;
    for (int i = 0; i < 9; ++i) sum += (digits[i] - '0') * (10 - i);
    const int check = (11 - sum % 11) % 11;
    if (check != 10) return digits + static_cast<char>('0' + check);
  }
}

// A maternity batch with one mother-only record per entry of `mothers`.
// Mother m has her own NHS number, names and date of birth, the same in
// every batch, so that batches can bring new records of known mothers
// beside new mothers.
inline trelink::v1::PseudonymiseBatchRequest MothersBatch(const std::string& batch_id, const std::vector<int>& mothers,
                                                         const std::string& project = "demo") {
  trelink::v1::PseudonymiseBatchRequest request;
  request.set_project(project);
  request.set_dataset("maternity");
  request.set_batch_id(batch_id);
  for (int m : mothers) {
    auto* mother = request.add_records()->add_participants();
    mother->set_role("mother");
    auto* id = mother->mutable_identifiers();
    id->set_nhs_number(SeriesNhsNumber(m));
    id->set_given_name(absl::StrCat("Ada", std::string(1, static_cast<char>('a' + m % 26)),
                                    std::string(1, static_cast<char>('a' + m / 26 % 26))));
    id->set_family_name("Quennell-Ashdown");
    id->set_date_of_birth(absl::StrCat(1970 + m / 300, "-", absl::Dec(1 + m / 25 % 12, absl::kZeroPad2), "-",
                                       absl::Dec(1 + m % 25, absl::kZeroPad2)));
    id->set_sex("F");
    id->set_postcode("LS6 1AN");
  }
  return request;
}

// The linker's request for a sealed MaternityBatch of `records` records:
// the sealed keys with one birth per record as content.
inline trelink::v1::IngestBatchRequest BirthsIngest(const trelink::v1::SealedBatch& sealed, int records) {
  trelink::v1::IngestBatchRequest request;
  *request.mutable_sealed() = sealed;
  for (int i = 0; i < records; ++i) {
    auto* content = request.add_records();
    content->set_event("birth");
    content->set_event_date("2020-02-11");
    (*content->mutable_attributes())["region"] = "E12000003";
  }
  return request;
}

}  // namespace trelink::testing
