#include "common/synth/in_process_pipeline.h"

#include "absl/strings/str_format.h"
#include "common/csv/record_columns.h"
#include "common/status/status_macros.h"

namespace trelink {

absl::StatusOr<PipelineTotals> IngestPopulation(const SyntheticPopulation& population, const Catalogue& catalogue,
                                                const Pseudonymiser& pseudonymiser, const BatchIngester& ingester,
                                                const std::string& project, int batch_size) {
  PipelineTotals totals;
  for (const auto& [name, dataset] : population.datasets) {
    const trelink::v1::DatasetSpec* spec = catalogue.Find(name);
    if (spec == nullptr) return absl::NotFoundError(absl::StrCat("dataset ", name, " is not in the catalogue"));
    TRELINK_ASSIGN_OR_RETURN(RecordColumns columns, RecordColumns::Create(dataset.header, *spec));
    for (size_t start = 0; start < dataset.rows.size(); start += static_cast<size_t>(batch_size)) {
      trelink::v1::PseudonymiseBatchRequest identifiers;
      trelink::v1::IngestBatchRequest ingest;
      identifiers.set_project(project);
      identifiers.set_dataset(name);
      identifiers.set_batch_id(absl::StrFormat("%s-%09d", name, start));
      const size_t end = std::min(dataset.rows.size(), start + static_cast<size_t>(batch_size));
      for (size_t r = start; r < end; ++r) {
        columns.Fill(dataset.rows[r].cells, *identifiers.add_records(), *ingest.add_records());
        for (const auto& [role, person] : dataset.rows[r].truth) totals.truth.push_back(person);
      }
      TRELINK_ASSIGN_OR_RETURN(trelink::v1::PseudonymiseBatchResponse sealed,
                               pseudonymiser.PseudonymiseBatch(identifiers));
      *ingest.mutable_sealed() = sealed.sealed();
      TRELINK_RETURN_IF_ERROR(ingester.Ingest(ingest).status());
      totals.records += end - start;
      totals.batches++;
    }
  }
  return totals;
}

}  // namespace trelink
