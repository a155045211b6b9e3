#include "services/pseudonymiser/pseudonym_handler.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::Status PseudonymHandler::Pseudonymise(absl::string_view identity,
                                            const trelink::v1::PseudonymiseBatchRequest& request,
                                            trelink::v1::PseudonymiseBatchResponse& response) const {
  TRELINK_RETURN_IF_ERROR(
      access_.Authorize(identity, {trelink::v1::PROVIDER}, request.project(), "Pseudonymise").status());
  absl::StatusOr<trelink::v1::PseudonymiseBatchResponse> result = pseudonymiser_.PseudonymiseBatch(request);
  if (!result.ok()) {
    // The message names batch, record and field only, so it is safe to log.
    LogInfo(absl::StrCat("rejected a batch from \"", identity, "\": ", result.status().ToString()));
    return result.status();
  }
  response = *std::move(result);
  return absl::OkStatus();
}

absl::Status PseudonymHandler::GetKeyInfo(absl::string_view identity, const trelink::v1::GetKeyInfoRequest& request,
                                          trelink::v1::GetKeyInfoResponse& response) const {
  TRELINK_RETURN_IF_ERROR(access_
                              .Authorize(identity, {trelink::v1::PROVIDER, trelink::v1::LINKAGE_ADMIN},
                                         request.project(), "GetKeyInfo")
                              .status());
  response = pseudonymiser_.KeyInfo();
  return absl::OkStatus();
}

}  // namespace trelink
