// trelink-cli pseudonymise, ingest and key-info.
#include <google/protobuf/util/delimited_message_util.h>
#include <grpcpp/client_context.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/cli/commands.h"
#include "services/cli/csv_batches.h"
#include "trelink/v1/linkage.grpc.pb.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {
namespace {

using trelink::v1::PseudonymiseBatchResponse;

void SetDeadline(grpc::ClientContext& context, const Endpoint& endpoint) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(endpoint.timeout_seconds));
}

struct Totals {
  uint64_t batches = 0, records = 0, participants = 0, invalid_nhs = 0, missing_nhs = 0, keys_not_formed = 0;
  uint64_t sealed_bytes = 0, stored = 0, already_stored = 0;
  uint32_t key_version = 0;
  std::string fingerprint;

  void Add(const PseudonymiseBatchResponse& response) {
    const auto& s = response.stats();
    batches++;
    records += s.records();
    participants += s.participants();
    invalid_nhs += s.invalid_nhs_numbers();
    missing_nhs += s.missing_nhs_numbers();
    keys_not_formed += s.keys_not_formed();
    sealed_bytes += response.sealed().blob().size();
    key_version = response.sealed().key_version();
    fingerprint = response.sealed().recipient_fingerprint();
  }

  // The summary's numbers, for JSON and CSV.
  OutputValue ToValue(const DatasetRun& run) const {
    return OutputValue::Object()
        .Add("csv", OutputValue::String(run.csv_path))
        .Add("project", OutputValue::String(run.project))
        .Add("dataset", OutputValue::String(run.dataset))
        .Add("records", OutputValue::Unsigned(records))
        .Add("batches", OutputValue::Unsigned(batches))
        .Add("participants", OutputValue::Unsigned(participants))
        .Add("nhs_numbers_invalid", OutputValue::Unsigned(invalid_nhs))
        .Add("nhs_numbers_missing", OutputValue::Unsigned(missing_nhs))
        .Add("keys_not_formed", OutputValue::Unsigned(keys_not_formed))
        .Add("sealed_bytes", OutputValue::Unsigned(sealed_bytes))
        .Add("key_version", OutputValue::Unsigned(key_version))
        .Add("linker_key_fingerprint", OutputValue::String(fingerprint));
  }

  void Print(const DatasetRun& run, double seconds) const {
    std::printf("%s (%s, project %s)\n", run.csv_path.c_str(), run.dataset.c_str(), run.project.c_str());
    std::printf("  records           %llu in %llu batches (%.0f records/s)\n",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(batches),
                seconds > 0 ? records / seconds : 0.0);
    std::printf("  participants      %llu\n", static_cast<unsigned long long>(participants));
    std::printf("  NHS numbers       %llu invalid (treated as missing), %llu missing\n",
                static_cast<unsigned long long>(invalid_nhs), static_cast<unsigned long long>(missing_nhs));
    std::printf("  keys not formed   %llu (a field was missing)\n", static_cast<unsigned long long>(keys_not_formed));
    std::printf("  sealed for linker %s with key version %u (%llu bytes)\n", fingerprint.c_str(), key_version,
                static_cast<unsigned long long>(sealed_bytes));
  }
};

// Streams the CSV's identifier batches to the pseudonymiser; `on_sealed` is
// called on a second thread with each sealed response and its batch.
// Progress on stderr: a bar on a terminal, a line every 50 batches otherwise.
class Progress {
 public:
  Progress() : terminal_(isatty(STDERR_FILENO) != 0) {}
  void Batch(uint64_t records) {
    ++batches_;
    records_ += records;
    if (terminal_) {
      std::fprintf(stderr, "\r  %llu records in %llu batches sent", static_cast<unsigned long long>(records_),
                   static_cast<unsigned long long>(batches_));
    } else if (batches_ % 50 == 0) {
      std::fprintf(stderr, "progress: %llu records in %llu batches sent\n", static_cast<unsigned long long>(records_),
                   static_cast<unsigned long long>(batches_));
    }
  }
  ~Progress() {
    if (terminal_ && batches_ > 0) std::fprintf(stderr, "\n");
  }

 private:
  bool terminal_;
  uint64_t batches_ = 0, records_ = 0;
};

// What the CSV reader saw.
struct ReadCounts {
  size_t rows_read = 0;
  size_t unreadable_values = 0;  // of invalid_as_missing columns, sent as missing
};

// The rows read and those left out, for JSON and CSV.
void AddRejected(const std::vector<RejectedRow>& rejected, const ReadCounts& counts, OutputValue& summary) {
  summary.Add("rows_read", OutputValue::Unsigned(counts.rows_read));
  summary.Add("rows_left_out", OutputValue::Unsigned(rejected.size()));
  summary.Add("unreadable_values", OutputValue::Unsigned(counts.unreadable_values));
  OutputValue rows = OutputValue::List();
  for (const RejectedRow& row : rejected) {
    rows.Append(OutputValue::Object()
                    .Add("line", OutputValue::Unsigned(row.line))
                    .Add("reason", OutputValue::String(row.reason)));
  }
  summary.Add("rejected_rows", std::move(rows));
}

// Rows left out for failing validation: how many, why, and where.
void PrintRejected(const std::vector<RejectedRow>& rejected, const ReadCounts& counts, const std::string& csv) {
  std::printf("  rows read         %zu, %zu left out for failing validation\n", counts.rows_read, rejected.size());
  if (counts.unreadable_values > 0) {
    std::printf("  unreadable values %zu, sent as missing (invalid_as_missing columns)\n", counts.unreadable_values);
  }
  for (size_t i = 0; i < rejected.size() && i < 10; ++i) {
    std::printf("    %s line %zu: %s\n", csv.c_str(), rejected[i].line, rejected[i].reason.c_str());
  }
  if (rejected.size() > 10) std::printf("    ... and %zu more\n", rejected.size() - 10);
}

// A stream that ended, with OK or not, before taking every batch: the rows
// from `first_line` on did not get through, and saying OK would lose them.
absl::Status UnsentBatchError(const std::string& service, size_t first_line, const std::string& csv) {
  return absl::DataLossError(absl::StrCat("the ", service, " stream ended before taking every batch: ", csv,
                                          " from line ", first_line, " was not processed"));
}

absl::Status StreamToPseudonymiser(const Endpoint& endpoint, const Catalogue& catalogue, const DatasetRun& run,
                                   const std::function<bool(const PseudonymiseBatchResponse&, CsvBatch&)>& on_sealed,
                                   std::string* failed_batch_lines, std::vector<RejectedRow>* rejected,
                                   ReadCounts* counts) {
  TRELINK_ASSIGN_OR_RETURN(std::unique_ptr<CsvBatchReader> reader,
                           CsvBatchReader::Open(run.csv_path, catalogue, run.project, run.dataset, run.batch_size,
                                                Clock::System(), run.extract));
  reader->set_strict(run.strict);
  Progress progress;
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(endpoint));
  auto stub = trelink::v1::PseudonymService::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context, endpoint);
  auto stream = stub->PseudonymiseStream(&context);

  std::mutex mu;
  std::deque<CsvBatch> in_flight;  // sent, not yet answered (responses come in order)
  bool consumer_failed = false;
  std::thread receiver([&] {
    PseudonymiseBatchResponse response;
    while (stream->Read(&response)) {
      CsvBatch batch;
      {
        std::lock_guard<std::mutex> lock(mu);
        batch = std::move(in_flight.front());
        in_flight.pop_front();
      }
      if (!on_sealed(response, batch)) {
        std::lock_guard<std::mutex> lock(mu);
        consumer_failed = true;
        context.TryCancel();
        return;
      }
    }
  });

  absl::Status read_status;
  bool write_failed = false;
  CsvBatch batch;
  while (true) {
    absl::StatusOr<bool> next = reader->Next(batch);
    if (!next.ok()) {
      read_status = next.status();
      break;
    }
    if (!*next) break;
    trelink::v1::PseudonymiseBatchRequest request = batch.identifiers;
    {
      std::lock_guard<std::mutex> lock(mu);
      in_flight.push_back(std::move(batch));
    }
    progress.Batch(static_cast<uint64_t>(request.records_size()));
    if (!stream->Write(request)) {  // the stream ended; Finish may say why
      write_failed = true;
      break;
    }
  }
  stream->WritesDone();
  receiver.join();
  *rejected = reader->rejected();
  counts->rows_read = reader->rows_read();
  counts->unreadable_values = reader->unreadable_values();
  const grpc::Status finished = stream->Finish();
  TRELINK_RETURN_IF_ERROR(read_status);
  if (consumer_failed) return absl::OkStatus();  // the consumer reports its own error
  if (IsConnectionFailure(finished)) return CallError(finished, endpoint);
  if (!finished.ok()) {
    std::lock_guard<std::mutex> lock(mu);
    const std::vector<size_t> lines = in_flight.empty() ? std::vector<size_t>() : in_flight.front().lines;
    *failed_batch_lines = WithCsvLine(finished.error_message(), lines, run.csv_path);
    return absl::Status(static_cast<absl::StatusCode>(finished.error_code()), *failed_batch_lines);
  }
  // The server may end the stream with OK without reading everything (a
  // request that did not serialise or parse): rows sent but not answered
  // were not pseudonymised, so the run failed however the stream ended.
  if (write_failed || !in_flight.empty()) {
    const bool known = !in_flight.empty() && !in_flight.front().lines.empty();
    return UnsentBatchError("pseudonymiser", known ? in_flight.front().lines.front() : 0, run.csv_path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<size_t> PseudonymiseCsv(const Endpoint& pseudonymiser, const Catalogue& catalogue,
                                       const DatasetRun& run, const std::string& out_path) {
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot create ", out_path));
  Totals totals;
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  std::vector<RejectedRow> rejected;
  ReadCounts counts;
  TRELINK_RETURN_IF_ERROR(StreamToPseudonymiser(
      pseudonymiser, catalogue, run,
      [&](const PseudonymiseBatchResponse& response, CsvBatch&) {
        google::protobuf::util::SerializeDelimitedToOstream(response.sealed(), &out);
        totals.Add(response);
        return true;
      },
      &error, &rejected, &counts));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", out_path));
  if (run.format != OutputFormat::kText) {
    OutputValue summary = totals.ToValue(run);
    AddRejected(rejected, counts, summary);
    summary.Add("out", OutputValue::String(out_path));
    PrintStructured(summary, run.format);
    return rejected.size();
  }
  std::printf("pseudonymised ");
  totals.Print(run, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  PrintRejected(rejected, counts, run.csv_path);
  std::printf("  sealed batches    -> %s\n", out_path.c_str());
  return rejected.size();
}

absl::StatusOr<size_t> IngestCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const Catalogue& catalogue,
                                 const DatasetRun& run) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(linker));
  auto stub = trelink::v1::LinkageService::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context, linker);
  trelink::v1::IngestResponse response;
  auto writer = stub->Ingest(&context, &response);

  Totals totals;
  absl::flat_hash_map<std::string, std::vector<size_t>> lines_of_batch;
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  std::vector<RejectedRow> rejected;
  ReadCounts counts;
  std::optional<size_t> unsent_line;  // the first line of a batch the linker did not take
  absl::Status pseudonymised = StreamToPseudonymiser(
      pseudonymiser, catalogue, run,
      [&](const PseudonymiseBatchResponse& sealed, CsvBatch& batch) {
        totals.Add(sealed);
        trelink::v1::IngestBatchRequest request;
        *request.mutable_sealed() = sealed.sealed();
        for (auto& content : batch.content) *request.add_records() = std::move(content);
        const size_t first_line = batch.lines.empty() ? 0 : batch.lines.front();
        lines_of_batch[sealed.sealed().batch_id()] = std::move(batch.lines);
        if (writer->Write(request)) return true;
        unsent_line = first_line;
        return false;
      },
      &error, &rejected, &counts);
  writer->WritesDone();
  const grpc::Status finished = writer->Finish();
  TRELINK_RETURN_IF_ERROR(pseudonymised);
  if (IsConnectionFailure(finished)) return CallError(finished, linker);
  if (!finished.ok()) {
    std::string message = finished.error_message();
    for (const auto& [batch_id, lines] : lines_of_batch) {
      if (message.rfind(absl::StrCat("batch ", batch_id, ":"), 0) == 0) {
        message = WithCsvLine(message, lines, run.csv_path);
        break;
      }
    }
    return absl::Status(static_cast<absl::StatusCode>(finished.error_code()), absl::StrCat("linker: ", message));
  }
  if (unsent_line) return UnsentBatchError("linker", *unsent_line, run.csv_path);
  uint64_t replaced = 0;
  for (const auto& result : response.batches()) {
    (result.already_stored() ? totals.already_stored : totals.stored)++;
    replaced += result.records_replaced();
  }
  if (run.format != OutputFormat::kText) {
    OutputValue summary = totals.ToValue(run);
    AddRejected(rejected, counts, summary);
    summary.Add("batches_stored", OutputValue::Unsigned(totals.stored));
    summary.Add("batches_already_stored", OutputValue::Unsigned(totals.already_stored));
    summary.Add("corrections", OutputValue::Unsigned(replaced));
    PrintStructured(summary, run.format);
    return rejected.size();
  }
  std::printf("ingested ");
  totals.Print(run, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  PrintRejected(rejected, counts, run.csv_path);
  std::printf("  linker            %llu batches stored, %llu already stored (resent, unchanged)\n",
              static_cast<unsigned long long>(totals.stored), static_cast<unsigned long long>(totals.already_stored));
  std::printf("  corrections       %llu records replace an earlier delivery of their record_id\n",
              static_cast<unsigned long long>(replaced));
  return rejected.size();
}

absl::Status PrintKeyInfo(const Endpoint& endpoint, const std::string& project, OutputFormat format) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(endpoint));
  auto stub = trelink::v1::PseudonymService::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context, endpoint);
  trelink::v1::GetKeyInfoRequest request;
  request.set_project(project);
  trelink::v1::GetKeyInfoResponse response;
  TRELINK_RETURN_IF_ERROR(CallError(stub->GetKeyInfo(&context, request, &response), endpoint));
  if (format != OutputFormat::kText) {
    PrintStructured(FromMessage(response), format);
    return absl::OkStatus();
  }
  for (const auto& v : response.versions()) {
    std::printf("key version %u%s\n", v.version(), v.primary() ? " (primary)" : "");
  }
  std::printf("linker key fingerprint %s\n", response.linker_key_fingerprint().c_str());
  std::printf("keys per participant: %d; max records per batch: %u\n", response.key_names_size(),
              response.max_records_per_batch());
  return absl::OkStatus();
}

}  // namespace trelink
