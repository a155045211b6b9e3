// What the pseudonymiser's RPCs do, without gRPC: check the caller's role
// and project, call the library, log counts. Tested directly; the gRPC
// service only adapts it.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "common/access/access_policy.h"
#include "common/pseudonym/pseudonymiser.h"

namespace trelink {

class PseudonymHandler {
 public:
  // Neither is owned; both must outlive the handler.
  PseudonymHandler(const Pseudonymiser& pseudonymiser, const AccessPolicy& access)
      : pseudonymiser_(pseudonymiser), access_(access) {}

  // Providers only, for a project they may act on.
  absl::Status Pseudonymise(absl::string_view identity, const trelink::v1::PseudonymiseBatchRequest& request,
                            trelink::v1::PseudonymiseBatchResponse& response) const;

  // Providers and linkage admins.
  absl::Status GetKeyInfo(absl::string_view identity, const trelink::v1::GetKeyInfoRequest& request,
                          trelink::v1::GetKeyInfoResponse& response) const;

 private:
  const Pseudonymiser& pseudonymiser_;
  const AccessPolicy& access_;
};

}  // namespace trelink
