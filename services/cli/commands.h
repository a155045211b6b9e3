// Subcommands of trelink-cli.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace trelink {

// Where and how to reach a service over mTLS.
struct Endpoint {
  std::string address;
  std::string ca_file;
  std::string certificate_file;
  std::string private_key_file;
  int timeout_seconds = 600;
};

// Reads a dataset CSV, streams its identifier columns to the pseudonymiser in
// batches, and writes the sealed batches (length-delimited SealedBatch
// messages) to `out_path`. Prints a summary.
absl::Status PseudonymiseCsv(const Endpoint& endpoint, const std::string& project, const std::string& dataset,
                             const std::string& csv_path, const std::string& out_path, int batch_size);

// Waits until the service at `endpoint` reports SERVING on the standard
// health service, up to endpoint.timeout_seconds.
absl::Status WaitHealthy(const Endpoint& endpoint);

// Prints the pseudonymiser's key versions and linker key fingerprint.
absl::Status PrintKeyInfo(const Endpoint& endpoint, const std::string& project);

}  // namespace trelink
