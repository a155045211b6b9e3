// Splits a dataset's CSV header into identifier columns (sent to the
// pseudonymiser) and content columns (sent to the linker). A column named
// after an identifier field (nhs_number, given_name, family_name, dob, sex,
// postcode) belongs to the participant "person"; "<role>_<field>" (e.g.
// mother_dob, child_given_name) to the participant <role>.
#pragma once

#include <string>
#include <vector>

#include "trelink/v1/identifiers.pb.h"

namespace trelink {

class IdentifierColumns {
 public:
  explicit IdentifierColumns(const std::vector<std::string>& header);

  // Roles in order of first appearance in the header.
  const std::vector<std::string>& roles() const { return roles_; }
  bool is_identifier(size_t column) const { return column < kinds_.size() && kinds_[column].role >= 0; }

  // Fills `record` from a row. A participant whose identifier columns are all
  // empty is left out (a booking with no baby yet).
  void Fill(const std::vector<std::string>& row, trelink::v1::IdentifierRecord& record) const;

 private:
  struct Column {
    int role = -1;  // index into roles_, -1 for content
    int field = 0;  // trelink.v1.Identifiers field number
  };
  std::vector<std::string> roles_;
  std::vector<Column> kinds_;
};

}  // namespace trelink
