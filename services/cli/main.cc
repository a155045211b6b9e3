// trelink-cli: the command line for data providers, TRE pipelines and
// linkage administrators. Every call goes over mTLS with the certificate
// given by --cert/--key.
//
//   trelink-cli ingest --pseudonymiser HOST:PORT --linker HOST:PORT --catalogue FILE
//       --project P --dataset D --csv FILE   (+ --ca --cert --key)
//       [--extract NAME]   (the delivery, e.g. 2026-11; default: a digest of the file)
//   trelink-cli withdraw --pseudonymiser HOST:PORT --linker HOST:PORT --project P --dataset D
//       --csv FILE   (a record_id column naming the records to withdraw)
//   trelink-cli opt-out --pseudonymiser HOST:PORT --linker HOST:PORT --project P --csv FILE
//       --list_version V   (an nhs_number column; linkage-admin)
//   trelink-cli pseudonymise --pseudonymiser HOST:PORT --catalogue FILE --project P --dataset D
//       --csv FILE --out FILE.sealed
//   trelink-cli link --linker HOST:PORT --project P [--full]
//       (links what changed since the previous generation; --full: everything afresh)
//   trelink-cli report --linker HOST:PORT --project P [--html OUT.html]
//   trelink-cli query --aggregator HOST:PORT --query FILE [--format text|csv|json] [--html OUT.html]
//   trelink-cli catalogue --aggregator HOST:PORT
//   trelink-cli key-info --pseudonymiser HOST:PORT --project P
//   trelink-cli health --server HOST:PORT [--timeout S]
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/log/log.h"
#include "services/cli/commands.h"

ABSL_FLAG(std::string, server, "", "service address HOST:PORT (health)");
ABSL_FLAG(std::string, pseudonymiser, "", "pseudonymiser address HOST:PORT");
ABSL_FLAG(std::string, linker, "", "linker address HOST:PORT");
ABSL_FLAG(std::string, ca, "", "CA certificate the servers must chain to (PEM)");
ABSL_FLAG(std::string, cert, "", "this client's certificate (PEM)");
ABSL_FLAG(std::string, key, "", "this client's private key (PEM)");
ABSL_FLAG(int, timeout, 600, "deadline of each call, seconds");
ABSL_FLAG(std::string, catalogue, "", "the data catalogue (text format), for the CSV's columns");
ABSL_FLAG(std::string, project, "", "project the data belongs to");
ABSL_FLAG(std::string, dataset, "", "dataset name (maternity, social_care, court, ...)");
ABSL_FLAG(std::string, csv, "", "input CSV file");
ABSL_FLAG(std::string, out, "", "output file");
ABSL_FLAG(int, batch_size, 2000, "records per batch");
ABSL_FLAG(std::string, extract, "",
          "ingest, withdraw: the delivery's name (e.g. 2026-11), part of every batch id; default: a digest of the file");
ABSL_FLAG(std::string, list_version, "", "opt-out: the opt-out list's version (e.g. 2026-11)");
ABSL_FLAG(bool, full, false,
          "link: link every record afresh, refit the model and re-estimate the quality (default: link only what "
          "changed since the previous generation when the linker can)");
ABSL_FLAG(bool, strict, false, "stop at the first row that fails validation (default: leave it out and report it)");
ABSL_FLAG(std::string, aggregator, "", "aggregator address HOST:PORT");
ABSL_FLAG(std::string, query, "", "query file (trelink.v1.CountQuery, text format)");
ABSL_FLAG(std::string, format, "text", "query output: text, csv or json");
ABSL_FLAG(std::string, html, "",
          "report, query: also write the report or table to this file as a self-contained HTML page");
ABSL_FLAG(std::string, truth, "", "evaluation only: true counts from trelink-truth, shown beside each cell");

namespace trelink {
namespace {

Endpoint EndpointAt(const std::string& address) {
  return Endpoint{address, absl::GetFlag(FLAGS_ca), absl::GetFlag(FLAGS_cert), absl::GetFlag(FLAGS_key),
                  absl::GetFlag(FLAGS_timeout)};
}

absl::StatusOr<Catalogue> LoadCatalogue() {
  if (absl::GetFlag(FLAGS_catalogue).empty()) return absl::InvalidArgumentError("--catalogue is required");
  return Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
}

absl::Status Require(std::initializer_list<std::pair<const char*, std::string>> flags) {
  for (const auto& [name, value] : flags) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return absl::OkStatus();
}

absl::Status Dispatch(const std::string& command) {
  const std::string project = absl::GetFlag(FLAGS_project);
  const DatasetRun run{project, absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_csv),
                       absl::GetFlag(FLAGS_batch_size), absl::GetFlag(FLAGS_extract), absl::GetFlag(FLAGS_strict)};
  if (command == "withdraw") {
    if (absl::Status s = Require({{"project", project}, {"dataset", run.dataset}, {"csv", run.csv_path},
                                  {"pseudonymiser", absl::GetFlag(FLAGS_pseudonymiser)},
                                  {"linker", absl::GetFlag(FLAGS_linker)}});
        !s.ok()) {
      return s;
    }
    return WithdrawCsv(EndpointAt(absl::GetFlag(FLAGS_pseudonymiser)), EndpointAt(absl::GetFlag(FLAGS_linker)), run);
  }
  if (command == "opt-out") {
    if (absl::Status s = Require({{"project", project}, {"csv", run.csv_path},
                                  {"list_version", absl::GetFlag(FLAGS_list_version)},
                                  {"pseudonymiser", absl::GetFlag(FLAGS_pseudonymiser)},
                                  {"linker", absl::GetFlag(FLAGS_linker)}});
        !s.ok()) {
      return s;
    }
    return ApplyOptOutCsv(EndpointAt(absl::GetFlag(FLAGS_pseudonymiser)), EndpointAt(absl::GetFlag(FLAGS_linker)),
                          project, run.csv_path, absl::GetFlag(FLAGS_list_version), run.batch_size);
  }
  if (command == "ingest" || command == "pseudonymise") {
    if (absl::Status s = Require({{"project", project}, {"dataset", run.dataset}, {"csv", run.csv_path},
                                  {"pseudonymiser", absl::GetFlag(FLAGS_pseudonymiser)}});
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Catalogue> catalogue = LoadCatalogue();
    if (!catalogue.ok()) return catalogue.status();
    const Endpoint pseudonymiser = EndpointAt(absl::GetFlag(FLAGS_pseudonymiser));
    if (command == "pseudonymise") {
      if (absl::Status s = Require({{"out", absl::GetFlag(FLAGS_out)}}); !s.ok()) return s;
      return PseudonymiseCsv(pseudonymiser, *catalogue, run, absl::GetFlag(FLAGS_out));
    }
    if (absl::Status s = Require({{"linker", absl::GetFlag(FLAGS_linker)}}); !s.ok()) return s;
    return IngestCsv(pseudonymiser, EndpointAt(absl::GetFlag(FLAGS_linker)), *catalogue, run);
  }
  if (command == "link" || command == "report") {
    if (absl::Status s = Require({{"project", project}, {"linker", absl::GetFlag(FLAGS_linker)}}); !s.ok()) return s;
    const Endpoint linker = EndpointAt(absl::GetFlag(FLAGS_linker));
    return command == "link" ? RunLinkageCommand(linker, project, absl::GetFlag(FLAGS_full))
                             : PrintLinkageReport(linker, project, absl::GetFlag(FLAGS_html));
  }
  if (command == "query" || command == "catalogue") {
    if (absl::Status s = Require({{"aggregator", absl::GetFlag(FLAGS_aggregator)}}); !s.ok()) return s;
    const Endpoint aggregator = EndpointAt(absl::GetFlag(FLAGS_aggregator));
    if (command == "catalogue") return PrintCatalogue(aggregator, project);
    if (absl::Status s = Require({{"query", absl::GetFlag(FLAGS_query)}}); !s.ok()) return s;
    return RunQuery(aggregator, absl::GetFlag(FLAGS_query), project, absl::GetFlag(FLAGS_format),
                    absl::GetFlag(FLAGS_truth), 5, absl::GetFlag(FLAGS_html));
  }
  if (command == "key-info") {
    if (absl::Status s = Require({{"pseudonymiser", absl::GetFlag(FLAGS_pseudonymiser)}}); !s.ok()) return s;
    return PrintKeyInfo(EndpointAt(absl::GetFlag(FLAGS_pseudonymiser)), project);
  }
  if (command == "health") {
    if (absl::Status s = Require({{"server", absl::GetFlag(FLAGS_server)}}); !s.ok()) return s;
    return WaitHealthy(EndpointAt(absl::GetFlag(FLAGS_server)));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-cli");
  absl::SetProgramUsageMessage(
      "trelink-cli COMMAND [flags]\n"
      "commands:\n"
      "  ingest         send a dataset CSV through the pseudonymiser to the linker\n"
      "  withdraw       withdraw records by record_id (a CSV with a record_id column)\n"
      "  opt-out        apply a national data opt-out list (an nhs_number column)\n"
      "  pseudonymise   send a CSV's identifiers to the pseudonymiser; write sealed batches\n"
      "  link           run linkage for a project and print the report\n"
      "  report         print the latest linkage report\n"
      "  query          run a query file against the aggregator and print the table\n"
      "  catalogue      show the datasets, dimensions and disclosure policy\n"
      "  key-info       show the pseudonymiser's key versions and linker key fingerprint\n"
      "  health         wait until a service reports SERVING (up to --timeout seconds)");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() != 2) {
    std::fprintf(stderr, "%s\n", absl::ProgramUsageMessage().data());
    return 2;
  }
  absl::Status status = trelink::Dispatch(positional[1]);
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
