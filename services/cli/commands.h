// Subcommands of trelink-cli.
#pragma once

#include "trelink/v1/linkage.pb.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/catalogue/catalogue.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace trelink {

// Where and how to reach a service over mTLS.
struct Endpoint {
  std::string address;
  std::string ca_file;
  std::string certificate_file;
  std::string private_key_file;
  int timeout_seconds = 600;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Endpoint& endpoint);

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
};

// Streams a CSV's identifier columns to the pseudonymiser and writes the
// sealed batches (length-delimited SealedBatch messages) to `out_path`.
absl::Status PseudonymiseCsv(const Endpoint& pseudonymiser, const Catalogue& catalogue, const DatasetRun& run,
                             const std::string& out_path);

// The provider's whole step: identifiers to the pseudonymiser, then each
// sealed batch with its content to the linker. Prints a summary.
absl::Status IngestCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const Catalogue& catalogue,
                       const DatasetRun& run);

// Withdraws the records whose record_id column `run.csv_path` lists: the ids
// go through the pseudonymiser (the linker sees only their keyed hashes).
absl::Status WithdrawCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const DatasetRun& run);

// Loads a national data opt-out list (the nhs_number column of
// `csv_path`) as list `list_version` of the project and activates it
// (linkage-admin). Numbers go through the pseudonymiser; invalid ones are
// left out and counted.
absl::Status ApplyOptOutCsv(const Endpoint& pseudonymiser, const Endpoint& linker, const std::string& project,
                            const std::string& csv_path, const std::string& list_version, int batch_size);

// A gRPC status as an absl::Status whose message starts with `service`.
absl::Status Prefixed(const grpc::Status& status, absl::string_view service);

// Runs linkage (linkage-admin) and prints the report.
absl::Status RunLinkageCommand(const Endpoint& linker, const std::string& project, bool full);
// Prints the latest linkage report; with `html_file`, also writes it there
// as a self-contained HTML page.
absl::Status PrintLinkageReport(const Endpoint& linker, const std::string& project, const std::string& html_file);

// Runs a query file (CountQuery, text format) as an analyst and prints the
// disclosure-controlled table as aligned text, csv or json. With a truth file
// from trelink-truth, prints the true value beside each cell.
// `project`, when not empty, replaces the query file's project. With
// `html_file`, also writes the table there as an HTML page.
absl::Status RunQuery(const Endpoint& aggregator, const std::string& query_file, const std::string& project, const std::string& format,
                      const std::string& truth_file, uint32_t rounding_base, const std::string& html_file);
// Prints the catalogue's datasets, dimensions and the disclosure policy.
// The aggregator's catalogue and policy; with a project, also the linkage
// generation its counts come from and that generation's estimated quality.
absl::Status PrintCatalogue(const Endpoint& aggregator, const std::string& project);

// A linkage quality report (estimates and subgroups), as the linkage report
// and the catalogue show it.
void PrintQuality(const trelink::v1::QualityReport& quality);

// Waits until the service reports SERVING on the standard health service.
absl::Status WaitHealthy(const Endpoint& endpoint);
// Prints the pseudonymiser's key versions and linker key fingerprint.
absl::Status PrintKeyInfo(const Endpoint& endpoint, const std::string& project);

// Maps a gRPC status to the domain's.
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace trelink
