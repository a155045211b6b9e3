// trelink-cli opt-out: the TRE applies a national data opt-out list.
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/identity/normalise.h"
#include "common/status/status_macros.h"
#include "services/cli/column_reader.h"
#include "services/cli/commands.h"
#include "trelink/v1/linkage.grpc.pb.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {

absl::StatusOr<size_t> ApplyOptOutCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const DatasetRun& run,
                                      const std::string& list_version) {
  const std::string& project = run.project;
  const std::string& csv_path = run.csv_path;
  const int batch_size = run.batch_size;
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ColumnReader> reader, ColumnReader::Open(csv_path, "nhs_number"));
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> to_pseudonymiser, Connect(pseudonymiser));
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> to_linker, Connect(linker));
  auto sealer = trelink::v1::PseudonymService::NewStub(to_pseudonymiser);
  auto applier = trelink::v1::LinkageService::NewStub(to_linker);
  size_t read = 0, invalid = 0;
  trelink::v1::OptOutResponse response;
  // Read one chunk ahead: the last batch sent activates the list.
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> chunk, reader->Next(static_cast<size_t>(batch_size)));
  for (size_t batch = 0; !chunk.empty(); ++batch) {
    TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> next, reader->Next(static_cast<size_t>(batch_size)));
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project(project);
    request.set_dataset("opt-out");
    request.set_batch_id(absl::StrFormat("opt-out:%s:%06d", list_version, batch));
    request.set_purpose(trelink::v1::BATCH_OPT_OUT);
    std::string normalised;
    for (const std::string& number : chunk) {
      if (NormaliseNhsNumber(number, normalised) != NhsNumberCheck::kValid) {
        ++invalid;
        continue;
      }
      auto* participant = request.add_records()->add_participants();
      participant->set_role("opt-out");
      participant->mutable_identifiers()->set_nhs_number(normalised);
    }
    read += chunk.size();
    chunk = std::move(next);
    if (request.records().empty() && !chunk.empty()) continue;
    if (request.records().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(csv_path, ": the last ", batch_size,
                                                     " numbers hold no valid NHS number; nothing was activated"));
    }
    grpc::ClientContext seal_context;
    seal_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(pseudonymiser.timeout_seconds));
    trelink::v1::PseudonymiseBatchResponse sealed;
    TRELINK_RETURN_IF_ERROR(CallError(sealer->Pseudonymise(&seal_context, request, &sealed), pseudonymiser));
    trelink::v1::OptOutRequest apply;
    apply.set_list_version(list_version);
    *apply.mutable_sealed() = sealed.sealed();
    apply.set_complete(chunk.empty());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(linker.timeout_seconds));
    TRELINK_RETURN_IF_ERROR(CallError(applier->ApplyOptOut(&context, apply, &response), linker));
  }
  if (run.format != OutputFormat::kText) {
    PrintStructured(OutputValue::Object()
                        .Add("csv", OutputValue::String(csv_path))
                        .Add("project", OutputValue::String(project))
                        .Add("list_version", OutputValue::String(list_version))
                        .Add("numbers_read", OutputValue::Unsigned(read))
                        .Add("numbers_left_out_invalid", OutputValue::Unsigned(invalid))
                        .Add("numbers_in_list", OutputValue::Unsigned(response.numbers_in_list()))
                        .Add("active_list", OutputValue::String(response.active_list())),
                    run.format);
    return invalid;
  }
  std::printf("opt-out list %s of project %s (%s)\n", list_version.c_str(), project.c_str(), csv_path.c_str());
  std::printf("  numbers read      %zu, %zu not valid NHS numbers (left out)\n", read, invalid);
  std::printf("  in the list       %u distinct\n  active list       %s\n", response.numbers_in_list(),
              response.active_list().c_str());
  std::printf("  applies from the next linkage run (trelink-cli link)\n");
  return invalid;
}

}  // namespace trelink
