// One transaction around a body of statements, for any of the stores'
// connections (SqliteDb, PgConnection): `begin` opens it, COMMIT ends it,
// and a body or a COMMIT that fails rolls it back.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trelink {

template <typename Db, typename Body>
absl::Status RunInTransaction(Db& db, absl::string_view begin, Body&& body) {
  if (absl::Status s = db.Exec(begin); !s.ok()) return s;
  absl::Status status = body();
  if (!status.ok()) {
    db.Exec("ROLLBACK").IgnoreError();
    return status;
  }
  status = db.Exec("COMMIT");
  if (!status.ok()) db.Exec("ROLLBACK").IgnoreError();
  return status;
}

}  // namespace trelink
