// trelink-cli pseudonymise and key-info.
#include <google/protobuf/util/delimited_message_util.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/csv/csv_reader.h"
#include "common/server/tls.h"
#include "common/status/status_macros.h"
#include "services/cli/commands.h"
#include "services/cli/identifier_columns.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {
namespace {

using trelink::v1::PseudonymiseBatchRequest;
using trelink::v1::PseudonymiseBatchResponse;

absl::StatusOr<std::unique_ptr<trelink::v1::PseudonymService::Stub>> Connect(const Endpoint& endpoint) {
  TRELINK_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::Channel> channel,
      CreateMutualTlsChannel(endpoint.address, {endpoint.ca_file, endpoint.certificate_file,
                                                endpoint.private_key_file}));
  return trelink::v1::PseudonymService::NewStub(channel);
}

void SetDeadline(grpc::ClientContext& context, const Endpoint& endpoint) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(endpoint.timeout_seconds));
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// Rewrites "records[N]" in a server error as the CSV line it came from, so a
// data engineer can find the row (the message never holds the value).
std::string WithCsvLine(const std::string& message, const std::vector<size_t>& lines, const std::string& csv) {
  const size_t at = message.find("records[");
  if (at == std::string::npos) return message;
  const size_t close = message.find(']', at);
  size_t index = 0;
  if (close == std::string::npos || !absl::SimpleAtoi(message.substr(at + 8, close - at - 8), &index) ||
      index >= lines.size()) {
    return message;
  }
  return absl::StrCat(csv, " line ", lines[index], ": ", message);
}

struct Totals {
  uint64_t batches = 0, records = 0, participants = 0, invalid_nhs = 0, missing_nhs = 0, keys_not_formed = 0;
  uint64_t sealed_bytes = 0;
  uint32_t key_version = 0;
  std::string fingerprint;
};

}  // namespace

absl::Status PseudonymiseCsv(const Endpoint& endpoint, const std::string& project, const std::string& dataset,
                             const std::string& csv_path, const std::string& out_path, int batch_size) {
  if (project.empty() || dataset.empty() || csv_path.empty() || out_path.empty()) {
    return absl::InvalidArgumentError("--project, --dataset, --csv and --out are required");
  }
  if (batch_size <= 0) return absl::InvalidArgumentError("--batch_size must be positive");
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", csv_path));
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot create ", out_path));
  CsvReader reader(in);
  std::vector<std::string> row;
  TRELINK_ASSIGN_OR_RETURN(bool has_header, reader.Next(row));
  if (!has_header) return absl::InvalidArgumentError(absl::StrCat(csv_path, ": empty file, expected a header row"));
  const IdentifierColumns columns(row);
  if (columns.roles().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(csv_path, ": header has no identifier columns"));
  }

  TRELINK_ASSIGN_OR_RETURN(auto stub, Connect(endpoint));
  grpc::ClientContext context;
  SetDeadline(context, endpoint);
  auto stream = stub->PseudonymiseStream(&context);
  const auto started = std::chrono::steady_clock::now();

  // Responses are read on a second thread so batches stream without waiting.
  Totals totals;
  std::mutex mu;
  std::vector<std::vector<size_t>> batch_lines;  // CSV line of each record, per batch
  std::thread receiver([&] {
    PseudonymiseBatchResponse response;
    while (stream->Read(&response)) {
      google::protobuf::util::SerializeDelimitedToOstream(response.sealed(), &out);
      const auto& s = response.stats();
      totals.batches++;
      totals.records += s.records();
      totals.participants += s.participants();
      totals.invalid_nhs += s.invalid_nhs_numbers();
      totals.missing_nhs += s.missing_nhs_numbers();
      totals.keys_not_formed += s.keys_not_formed();
      totals.sealed_bytes += response.sealed().blob().size();
      totals.key_version = response.sealed().key_version();
      totals.fingerprint = response.sealed().recipient_fingerprint();
    }
  });

  absl::Status read_status;
  size_t data_row = 0;
  bool more = true;
  while (more) {
    PseudonymiseBatchRequest request;
    request.set_project(project);
    request.set_dataset(dataset);
    std::vector<size_t> lines;
    while (request.records_size() < batch_size) {
      absl::StatusOr<bool> next = reader.Next(row);
      if (!next.ok()) {
        read_status = absl::InvalidArgumentError(absl::StrCat(csv_path, " ", next.status().message()));
        break;
      }
      if (!*next) break;
      if (row.size() == 1 && row[0].empty()) continue;  // blank line
      columns.Fill(row, *request.add_records());
      lines.push_back(reader.row_line());
    }
    more = read_status.ok() && request.records_size() == batch_size;
    if (request.records().empty() || !read_status.ok()) break;
    // Deterministic from file position, so a re-run resends the same ids.
    request.set_batch_id(absl::StrFormat("%s-%09d", dataset, data_row));
    data_row += static_cast<size_t>(request.records_size());
    {
      std::lock_guard<std::mutex> lock(mu);
      batch_lines.push_back(std::move(lines));
    }
    if (!stream->Write(request)) break;  // the server ended the stream; Finish says why
  }
  stream->WritesDone();
  receiver.join();
  const grpc::Status finished = stream->Finish();
  out.close();
  TRELINK_RETURN_IF_ERROR(read_status);
  if (!finished.ok()) {
    const std::vector<size_t>& lines = totals.batches < batch_lines.size() ? batch_lines[totals.batches]
                                                                           : std::vector<size_t>();
    return absl::Status(FromGrpc(finished).code(), WithCsvLine(finished.error_message(), lines, csv_path));
  }
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", out_path));

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("pseudonymised %s (%s, project %s)\n", csv_path.c_str(), dataset.c_str(), project.c_str());
  std::printf("  records           %llu in %llu batches (%.0f records/s)\n",
              static_cast<unsigned long long>(totals.records), static_cast<unsigned long long>(totals.batches),
              seconds > 0 ? totals.records / seconds : 0.0);
  std::printf("  participants      %llu\n", static_cast<unsigned long long>(totals.participants));
  std::printf("  NHS numbers       %llu invalid (treated as missing), %llu missing\n",
              static_cast<unsigned long long>(totals.invalid_nhs), static_cast<unsigned long long>(totals.missing_nhs));
  std::printf("  keys not formed   %llu (a field was missing)\n",
              static_cast<unsigned long long>(totals.keys_not_formed));
  std::printf("  sealed for linker %s with key version %u: %llu bytes -> %s\n", totals.fingerprint.c_str(),
              totals.key_version, static_cast<unsigned long long>(totals.sealed_bytes), out_path.c_str());
  return absl::OkStatus();
}

absl::Status PrintKeyInfo(const Endpoint& endpoint, const std::string& project) {
  TRELINK_ASSIGN_OR_RETURN(auto stub, Connect(endpoint));
  grpc::ClientContext context;
  SetDeadline(context, endpoint);
  trelink::v1::GetKeyInfoRequest request;
  request.set_project(project);
  trelink::v1::GetKeyInfoResponse response;
  TRELINK_RETURN_IF_ERROR(FromGrpc(stub->GetKeyInfo(&context, request, &response)));
  for (const auto& v : response.versions()) {
    std::printf("key version %u%s\n", v.version(), v.primary() ? " (primary)" : "");
  }
  std::printf("linker key fingerprint %s\n", response.linker_key_fingerprint().c_str());
  std::printf("keys per participant: %d; max records per batch: %u\n", response.key_names_size(),
              response.max_records_per_batch());
  return absl::OkStatus();
}

}  // namespace trelink
