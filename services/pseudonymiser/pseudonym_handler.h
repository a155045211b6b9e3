// What the pseudonymiser's RPCs do, without gRPC: check the caller's role,
// project and dataset, check the batch's dataset and roles against the
// catalogue, call the library, log counts. Tested directly; the gRPC
// service only adapts it.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "common/access/access_policy.h"
#include "common/catalogue/catalogue.h"
#include "common/pseudonym/pseudonymiser.h"

namespace trelink {

class PseudonymHandler {
 public:
  // None is owned; all must outlive the handler.
  PseudonymHandler(const Pseudonymiser& pseudonymiser, const AccessPolicy& access, const Catalogue& catalogue)
      : pseudonymiser_(pseudonymiser), access_(access), catalogue_(catalogue) {}

  // Providers only, for a project they may act on and a dataset they hold.
  // A dataset or participant role not in the catalogue is INVALID_ARGUMENT
  // naming the batch and record.
  absl::Status Pseudonymise(absl::string_view identity, const trelink::v1::PseudonymiseBatchRequest& request,
                            trelink::v1::PseudonymiseBatchResponse& response) const;

  // Providers and linkage admins.
  absl::Status GetKeyInfo(absl::string_view identity, const trelink::v1::GetKeyInfoRequest& request,
                          trelink::v1::GetKeyInfoResponse& response) const;

 private:
  const Pseudonymiser& pseudonymiser_;
  const AccessPolicy& access_;
  const Catalogue& catalogue_;
};

}  // namespace trelink
