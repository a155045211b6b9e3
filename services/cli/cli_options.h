// trelink-cli's command line: one subcommand per task, each with only the
// flags it uses, its own --help with an example, and every flag checked
// before anything is sent to a service.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/cli/output.h"

namespace trelink {

// trelink-cli's exit codes (also in `trelink-cli --help` and the README).
enum CliExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // a service refused or failed, a file could not be read or written
  kExitUsage = 2,        // a flag is unknown, missing or invalid, or the input is unusable
  kExitRowsLeftOut = 3,  // the run finished but left rows out (ingest, pseudonymise, opt-out)
};

// Every flag of every command; a command reads only its own.
struct CliOptions {
  std::string command;
  std::string server, pseudonymiser, linker, aggregator;  // HOST:PORT
  std::string ca, cert, key;
  int timeout = 600;
  std::string catalogue, project, dataset, csv, out, extract, list_version, query, truth, html;
  int batch_size = 2000;
  bool full = false;
  bool strict = false;
  bool allow_rejected = false;
  std::string format = "text";
  OutputFormat output_format = OutputFormat::kText;  // set by ValidateCliOptions
};

struct ParsedCommandLine {
  // Empty when the program should stop now with `exit_code` (help was
  // asked for, or the command line is wrong).
  std::optional<CliOptions> options;
  int exit_code = kExitOk;
  std::string out, err;  // what to print on stdout and stderr
};

// Parses `args` (args[0] is the program name).
ParsedCommandLine ParseCliArguments(const std::vector<std::string>& args);

// Checks what parsing cannot: formats, names, numbers, addresses, that input
// files are readable and the output's directory writable, and that the TLS
// key belongs to the certificate. Sets `output_format`. INVALID_ARGUMENT
// naming the flag.
absl::Status ValidateCliOptions(CliOptions& options);

}  // namespace trelink
