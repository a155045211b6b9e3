// trelink-cli: the command line for data providers, TRE pipelines, linkage
// administrators and analysts. `trelink-cli --help` lists the commands and
// exit codes; `trelink-cli COMMAND --help` a command's flags, with an
// example (services/cli/cli_options.cc). Every flag is checked before any
// call; every call goes over mTLS with the certificate given by --cert/--key.
#include <grpc/support/log.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "services/cli/cli_options.h"
#include "services/cli/commands.h"

namespace trelink {
namespace {

Endpoint EndpointAt(const CliOptions& o, const std::string& address, const std::string& service) {
  return Endpoint{address, o.ca, o.cert, o.key, o.timeout, service};
}

// kExitRowsLeftOut when rows were left out and the user did not allow it.
int RowsExit(const CliOptions& o, size_t left_out) {
  return left_out > 0 && !o.allow_rejected ? kExitRowsLeftOut : kExitOk;
}

absl::StatusOr<int> Dispatch(const CliOptions& o) {
  const DatasetRun run{o.project, o.dataset, o.csv, o.batch_size, o.extract, o.strict, o.output_format};
  const Endpoint pseudonymiser = EndpointAt(o, o.pseudonymiser, "pseudonymiser");
  const Endpoint linker = EndpointAt(o, o.linker, "linker");
  const Endpoint aggregator = EndpointAt(o, o.aggregator, "aggregator");
  absl::Status done;
  if (o.command == "ingest" || o.command == "pseudonymise") {
    absl::StatusOr<Catalogue> catalogue = Catalogue::Load(o.catalogue);
    if (!catalogue.ok()) return catalogue.status();
    absl::StatusOr<size_t> left_out = o.command == "ingest" ? IngestCsv(pseudonymiser, linker, *catalogue, run)
                                                            : PseudonymiseCsv(pseudonymiser, *catalogue, run, o.out);
    if (!left_out.ok()) return left_out.status();
    return RowsExit(o, *left_out);
  }
  if (o.command == "opt-out") {
    absl::StatusOr<size_t> left_out = ApplyOptOutCsv(pseudonymiser, linker, run, o.list_version);
    if (!left_out.ok()) return left_out.status();
    return RowsExit(o, *left_out);
  }
  if (o.command == "withdraw") {
    done = WithdrawCsv(pseudonymiser, linker, run);
  } else if (o.command == "link") {
    done = RunLinkageCommand(linker, o.project, o.full, o.output_format);
  } else if (o.command == "report") {
    done = PrintLinkageReport(linker, o.project, o.output_format, o.html);
  } else if (o.command == "query") {
    done = RunQuery(aggregator, o.query, o.project, o.output_format, o.truth, 5, o.html);
  } else if (o.command == "catalogue") {
    done = PrintCatalogue(aggregator, o.project, o.output_format);
  } else if (o.command == "key-info") {
    done = PrintKeyInfo(pseudonymiser, o.project, o.output_format);
  } else if (o.command == "health") {
    done = WaitHealthy(EndpointAt(o, o.server, "service"), o.output_format);
  } else {
    return absl::InvalidArgumentError("unknown command \"" + o.command + "\"");
  }
  if (!done.ok()) return done;
  return kExitOk;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-cli");
  // gRPC's own log lines ("Handshake failed with fatal error ...") say less
  // than the CLI's messages and come before them: not shown.
  gpr_set_log_function([](gpr_log_func_args*) {});
  trelink::ParsedCommandLine parsed = trelink::ParseCliArguments(std::vector<std::string>(argv, argv + argc));
  std::fputs(parsed.out.c_str(), stdout);
  std::fputs(parsed.err.c_str(), stderr);
  if (!parsed.options) return parsed.exit_code;
  if (absl::Status valid = trelink::ValidateCliOptions(*parsed.options); !valid.ok()) {
    trelink::LogError(valid.ToString());
    std::fprintf(stderr, "Run `trelink-cli %s --help` for the flags.\n", parsed.options->command.c_str());
    return trelink::kExitUsage;
  }
  absl::StatusOr<int> exit_code = trelink::Dispatch(*parsed.options);
  if (!exit_code.ok()) {
    trelink::LogError(exit_code.status().ToString());
    return exit_code.status().code() == absl::StatusCode::kInvalidArgument ? trelink::kExitUsage
                                                                           : trelink::kExitError;
  }
  return *exit_code;
}
