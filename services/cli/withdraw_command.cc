// trelink-cli withdraw: a provider withdraws records it sent, by record_id.
#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "services/cli/column_reader.h"
#include "services/cli/commands.h"
#include "services/cli/csv_batches.h"
#include "trelink/v1/linkage.grpc.pb.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {

absl::Status WithdrawCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const DatasetRun& run) {
  std::string extract = run.extract;
  if (extract.empty()) {
    TRELINK_ASSIGN_OR_RETURN(extract, FileDigestLabel(run.csv_path));
  }
  TRELINK_RETURN_IF_ERROR(ValidateExtractName(extract));
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<ColumnReader> reader, ColumnReader::Open(run.csv_path, "record_id"));
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> to_pseudonymiser, Connect(pseudonymiser));
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> to_linker, Connect(linker));
  auto sealer = trelink::v1::PseudonymService::NewStub(to_pseudonymiser);
  auto withdrawer = trelink::v1::LinkageService::NewStub(to_linker);
  trelink::v1::WithdrawResponse total;
  size_t named = 0;
  while (true) {
    TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> ids, reader->Next(static_cast<size_t>(run.batch_size)));
    if (ids.empty()) break;
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project(run.project);
    request.set_dataset(run.dataset);
    request.set_batch_id(absl::StrFormat("%s:withdraw-%s:%09d", run.dataset, extract, named));
    request.set_purpose(trelink::v1::BATCH_WITHDRAWAL);
    for (std::string& id : ids) request.add_records()->set_record_id(std::move(id));
    named += ids.size();
    grpc::ClientContext seal_context;
    seal_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(pseudonymiser.timeout_seconds));
    trelink::v1::PseudonymiseBatchResponse sealed;
    TRELINK_RETURN_IF_ERROR(CallError(sealer->Pseudonymise(&seal_context, request, &sealed), pseudonymiser));
    trelink::v1::WithdrawRequest withdrawal;
    *withdrawal.mutable_sealed() = sealed.sealed();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(linker.timeout_seconds));
    trelink::v1::WithdrawResponse response;
    TRELINK_RETURN_IF_ERROR(CallError(withdrawer->Withdraw(&context, withdrawal, &response), linker));
    total.set_withdrawn(total.withdrawn() + response.withdrawn());
    total.set_already_withdrawn(total.already_withdrawn() + response.already_withdrawn());
    total.set_not_found(total.not_found() + response.not_found());
  }
  if (run.format != OutputFormat::kText) {
    PrintStructured(OutputValue::Object()
                        .Add("csv", OutputValue::String(run.csv_path))
                        .Add("project", OutputValue::String(run.project))
                        .Add("dataset", OutputValue::String(run.dataset))
                        .Add("record_ids", OutputValue::Unsigned(named))
                        .Add("withdrawn", OutputValue::Unsigned(total.withdrawn()))
                        .Add("already_withdrawn", OutputValue::Unsigned(total.already_withdrawn()))
                        .Add("not_found", OutputValue::Unsigned(total.not_found())),
                    run.format);
    return absl::OkStatus();
  }
  std::printf("withdrawal of %zu record ids of %s/%s (%s)\n", named, run.project.c_str(), run.dataset.c_str(),
              run.csv_path.c_str());
  std::printf("  withdrawn now     %u\n  withdrawn before  %u\n  not found         %u\n", total.withdrawn(),
              total.already_withdrawn(), total.not_found());
  std::printf("  takes effect at the next linkage run (trelink-cli link)\n");
  return absl::OkStatus();
}

}  // namespace trelink
