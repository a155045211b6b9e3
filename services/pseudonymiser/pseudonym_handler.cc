#include "services/pseudonymiser/pseudonym_handler.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

// Keys sealed under an unknown dataset or role would be stored by nobody, or
// linked under a role the linker does not know; refuse them here.
absl::Status ValidateAgainstCatalogue(const Catalogue& catalogue,
                                      const trelink::v1::PseudonymiseBatchRequest& request) {
  const std::string batch = absl::StrCat("batch ", request.batch_id(), ": ");
  const trelink::v1::DatasetSpec* dataset = catalogue.Find(request.dataset());
  if (dataset == nullptr) {
    return FieldError("dataset", absl::StrCat("\"", request.dataset(), "\" is not in the catalogue"), batch);
  }
  for (int r = 0; r < request.records_size(); ++r) {
    const auto& participants = request.records(r).participants();
    for (int p = 0; p < participants.size(); ++p) {
      if (absl::Status s = Catalogue::ValidateRole(*dataset, participants[p].role()); !s.ok()) {
        return NestedFieldError(s, absl::StrCat("records[", r, "].participants[", p, "]"), batch);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PseudonymHandler::Pseudonymise(absl::string_view identity,
                                            const trelink::v1::PseudonymiseBatchRequest& request,
                                            trelink::v1::PseudonymiseBatchResponse& response) const {
  // A national data opt-out list is the TRE's to apply, not a provider's.
  const bool opt_out = request.purpose() == trelink::v1::BATCH_OPT_OUT;
  TRELINK_RETURN_IF_ERROR(access_
                              .Authorize(identity, {opt_out ? trelink::v1::LINKAGE_ADMIN : trelink::v1::PROVIDER},
                                         request.project(), "Pseudonymise")
                              .status());
  if (!opt_out) TRELINK_RETURN_IF_ERROR(access_.AuthorizeDataset(identity, request.dataset(), "Pseudonymise"));
  absl::Status valid = opt_out ? absl::OkStatus() : ValidateAgainstCatalogue(catalogue_, request);
  absl::StatusOr<trelink::v1::PseudonymiseBatchResponse> result =
      valid.ok() ? pseudonymiser_.PseudonymiseBatch(request) : valid;
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
