// Subcommands of trelink-cli. Each prints its result in the format asked
// for (aligned text, JSON or CSV; services/cli/output.h) and returns an
// error whose message says what to do.
#pragma once

#include "trelink/v1/linkage.pb.h"

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "services/cli/connection.h"
#include "services/cli/output.h"

namespace trelink {

// What a provider's CSV run is about.
struct DatasetRun {
  std::string project;
  std::string dataset;
  std::string csv_path;
  int batch_size = 2000;
  // The delivery's name (e.g. "2026-11"); empty: a digest of the file.
  std::string extract;
  // Stop at the first row that fails validation instead of leaving it out.
  bool strict = false;
  OutputFormat format = OutputFormat::kText;
};

// Streams a CSV's identifier columns to the pseudonymiser and writes the
// sealed batches (length-delimited SealedBatch messages) to `out_path`.
// Returns how many rows were left out for failing validation.
absl::StatusOr<size_t> PseudonymiseCsv(const Endpoint& pseudonymiser, const Catalogue& catalogue,
                                       const DatasetRun& run, const std::string& out_path);

// The provider's whole step: identifiers to the pseudonymiser, then each
// sealed batch with its content to the linker. Prints a summary; returns
// how many rows were left out for failing validation.
absl::StatusOr<size_t> IngestCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const Catalogue& catalogue,
                                 const DatasetRun& run);

// Withdraws the records whose record_id column `run.csv_path` lists: the ids
// go through the pseudonymiser (the linker sees only their keyed hashes).
absl::Status WithdrawCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const DatasetRun& run);

// Loads a national data opt-out list (the nhs_number column of
// `run.csv_path`) as list `list_version` of the project and activates it
// (linkage-admin). Numbers go through the pseudonymiser; invalid ones are
// left out, counted and returned.
absl::StatusOr<size_t> ApplyOptOutCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const DatasetRun& run,
                                      const std::string& list_version);

// Runs linkage (linkage-admin) and prints the report.
absl::Status RunLinkageCommand(const Endpoint& linker, const std::string& project, bool full, OutputFormat format);
// Prints the latest linkage report; with `html_file`, also writes it there
// as a self-contained HTML page.
absl::Status PrintLinkageReport(const Endpoint& linker, const std::string& project, OutputFormat format,
                                const std::string& html_file);

// Runs a query file (CountQuery, text format) as an analyst and prints the
// disclosure-controlled table. With a truth file from trelink-truth (text
// only), prints the true value beside each cell. `project`, when not empty,
// replaces the query file's project. With `html_file`, also writes the
// table there as an HTML page.
absl::Status RunQuery(const Endpoint& aggregator, const std::string& query_file, const std::string& project,
                      OutputFormat format, const std::string& truth_file, uint32_t rounding_base,
                      const std::string& html_file);
// The aggregator's catalogue and policy; with a project, also the linkage
// generation its counts come from and that generation's estimated quality.
absl::Status PrintCatalogue(const Endpoint& aggregator, const std::string& project, OutputFormat format);

// A linkage quality report (estimates and subgroups), as the linkage report
// and the catalogue show it.
void PrintQuality(const trelink::v1::QualityReport& quality);

// Waits until the service reports SERVING on the standard health service.
absl::Status WaitHealthy(const Endpoint& endpoint, OutputFormat format);
// Prints the pseudonymiser's key versions and linker key fingerprint.
absl::Status PrintKeyInfo(const Endpoint& endpoint, const std::string& project, OutputFormat format);

}  // namespace trelink
