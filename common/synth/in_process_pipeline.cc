#include "common/synth/in_process_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/config/proto_bytes.h"
#include "common/csv/record_columns.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<PipelineTotals> IngestPopulation(const SyntheticPopulation& population, const Catalogue& catalogue,
                                                const Pseudonymiser& pseudonymiser, const BatchIngester& ingester,
                                                const std::string& project, int batch_size,
                                                const std::string& extract) {
  // Two stages on two threads, as the pseudonymiser and the linker are two
  // processes: this thread pseudonymises, the other ingests, with a short
  // queue between them.
  PipelineTotals totals;
  std::mutex mu;
  std::condition_variable changed;
  std::deque<trelink::v1::IngestBatchRequest> queue;
  bool done = false;
  absl::Status ingest_status;
  std::thread linker([&] {
    while (true) {
      trelink::v1::IngestBatchRequest batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return done || !queue.empty(); });
        if (queue.empty()) return;
        batch = std::move(queue.front());
        queue.pop_front();
      }
      changed.notify_all();
      absl::Status status = ingester.Ingest(batch).status();
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (ingest_status.ok()) ingest_status = status;
      }
    }
  });
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    changed.notify_all();
    linker.join();
  };
  for (const auto& [name, dataset] : population.datasets) {
    const trelink::v1::DatasetSpec* spec = catalogue.Find(name);
    if (spec == nullptr) {
      finish();
      return absl::NotFoundError(absl::StrCat("dataset ", name, " is not in the catalogue"));
    }
    absl::StatusOr<RecordColumns> columns = RecordColumns::Create(dataset.header, *spec);
    if (!columns.ok()) {
      finish();
      return columns.status();
    }
    const auto id_column = std::find(dataset.header.begin(), dataset.header.end(), "record_id");
    for (size_t start = 0; start < dataset.rows.size(); start += static_cast<size_t>(batch_size)) {
      google::protobuf::Arena arena(BatchArenaOptions());  // the batch's identifiers, freed at once
      trelink::v1::PseudonymiseBatchRequest& identifiers =
          *google::protobuf::Arena::CreateMessage<trelink::v1::PseudonymiseBatchRequest>(&arena);
      trelink::v1::IngestBatchRequest ingest;
      identifiers.set_project(project);
      identifiers.set_dataset(name);
      identifiers.set_batch_id(absl::StrFormat("%s:%s:%09d", name, extract, start));
      const size_t end = std::min(dataset.rows.size(), start + static_cast<size_t>(batch_size));
      for (size_t r = start; r < end; ++r) {
        trelink::v1::IdentifierRecord* record = identifiers.add_records();
        columns->Fill(dataset.rows[r].cells, *record, *ingest.add_records());
        if (id_column != dataset.header.end()) {
          record->set_record_id(dataset.rows[r].cells[static_cast<size_t>(id_column - dataset.header.begin())]);
        }
        for (const auto& [role, person] : dataset.rows[r].truth) totals.truth.push_back(person);
      }
      absl::StatusOr<trelink::v1::PseudonymiseBatchResponse> sealed = pseudonymiser.PseudonymiseBatch(identifiers);
      if (!sealed.ok()) {
        finish();
        return sealed.status();
      }
      *ingest.mutable_sealed() = std::move(*sealed->mutable_sealed());
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return queue.size() < 4; });
        queue.push_back(std::move(ingest));
      }
      changed.notify_all();
      totals.records += end - start;
      totals.batches++;
    }
  }
  finish();
  TRELINK_RETURN_IF_ERROR(ingest_status);
  return totals;
}

}  // namespace trelink
