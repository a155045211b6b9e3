#include "services/cli/cli_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/cli/csv_batches.h"
#include "services/cli/tls_diagnosis.h"

namespace trelink {
namespace {

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  done\n"
    "  1  error: a service refused or failed, a file could not be read or written\n"
    "  2  usage error: an unknown, missing or invalid flag; an unusable input file\n"
    "  3  done, but rows were left out for failing validation (listed in the output);\n"
    "     --allow-rejected makes this 0\n"
    "\n"
    "Every call is made over mTLS: --ca, --cert and --key name the CA certificate and this\n"
    "client's certificate and key, whose common name is the identity the services check.\n"
    "`trelink-cli COMMAND --help` lists a command's flags, with an example.";

// The CLI's flags, declared once and added to the commands that use them.
class Flags {
 public:
  explicit Flags(CliOptions& o) : o_(o) {}

  static CLI::App* Command(CLI::App& app, const char* name, const char* what, const std::string& example) {
    CLI::App* command = app.add_subcommand(name, what);
    command->footer(absl::StrCat("Example:\n  ", example, "\n\nExit codes: 0 done, 1 error, 2 usage error",
                                 "; 3 rows left out (see trelink-cli --help)"));
    return command;
  }

  void Tls(CLI::App* c, bool with_format = true) {
    c->add_option("--ca", o_.ca, "CA certificate the servers' certificates chain to (PEM)")
        ->type_name("FILE")
        ->required();
    c->add_option("--cert", o_.cert, "this client's certificate (PEM); its common name is the identity")
        ->type_name("FILE");
    c->add_option("--key", o_.key, "this client's private key (PEM), the one of --cert")->type_name("FILE");
    c->add_option("--timeout", o_.timeout, "deadline of each call, seconds")->type_name("S")->default_val(600);
    if (with_format) {
      c->add_option("--format", o_.format, "output: text (default), csv or json")->type_name("text|csv|json");
    }
  }
  void Address(CLI::App* c, const char* name, std::string& value, const char* service) {
    c->add_option(absl::StrCat("--", name), value, absl::StrCat("the ", service, "'s address"))
        ->type_name("HOST:PORT")
        ->required();
  }
  void Project(CLI::App* c, bool required, const char* what = "the project") {
    CLI::Option* option = c->add_option("--project", o_.project, what)->type_name("NAME");
    if (required) option->required();
  }
  void Dataset(CLI::App* c) {
    c->add_option("--dataset", o_.dataset, "dataset name in the catalogue (maternity, social_care, court, ...)")
        ->type_name("NAME")
        ->required();
  }
  void Csv(CLI::App* c, const char* what) {
    c->add_option("--csv", o_.csv, what)->type_name("FILE")->required();
  }
  void Catalogue(CLI::App* c) {
    c->add_option("--catalogue", o_.catalogue, "the data catalogue (text format): the CSV's columns")
        ->type_name("FILE")
        ->required();
  }
  void BatchSize(CLI::App* c) {
    c->add_option("--batch_size", o_.batch_size, "records per batch")->type_name("N")->default_val(2000);
  }
  void Extract(CLI::App* c) {
    c->add_option("--extract", o_.extract,
                  "the delivery's name (e.g. 2026-11), part of every batch id; default: a digest of the file")
        ->type_name("NAME");
  }
  void Html(CLI::App* c, const char* what) { c->add_option("--html", o_.html, what)->type_name("FILE"); }
  void Rows(CLI::App* c) {
    c->add_flag("--strict", o_.strict, "stop at the first row that fails validation (default: leave it out)");
    c->add_flag("--allow-rejected", o_.allow_rejected, "exit 0, not 3, when rows were left out");
  }

 private:
  CliOptions& o_;
};

void DefineCommands(CLI::App& app, CliOptions& o) {
  Flags f(o);
  const std::string tls = "--ca ca.pem --cert ID.pem --key ID.key";

  CLI::App* c = Flags::Command(
      app, "ingest", "send a dataset CSV through the pseudonymiser to the linker (provider)",
      "trelink-cli ingest --pseudonymiser HOST:7001 --linker HOST:7002 --catalogue catalogue.textproto \\\n"
      "      --project demo --dataset maternity --csv maternity-2026-11.csv --extract 2026-11 \\\n"
      "      --ca ca.pem --cert provider.maternity.pem --key provider.maternity.key");
  f.Address(c, "pseudonymiser", o.pseudonymiser, "pseudonymiser");
  f.Address(c, "linker", o.linker, "linker");
  f.Catalogue(c);
  f.Project(c, true);
  f.Dataset(c);
  f.Csv(c, "the dataset's CSV (header row; identifier, event, attribute and record_id columns)");
  f.Extract(c);
  f.BatchSize(c);
  f.Rows(c);
  f.Tls(c);

  c = Flags::Command(app, "pseudonymise", "send a CSV's identifiers to the pseudonymiser; write the sealed batches",
                     "trelink-cli pseudonymise --pseudonymiser HOST:7001 --catalogue catalogue.textproto \\\n"
                     "      --project demo --dataset maternity --csv maternity.csv --out maternity.sealed " +
                         tls);
  f.Address(c, "pseudonymiser", o.pseudonymiser, "pseudonymiser");
  f.Catalogue(c);
  f.Project(c, true);
  f.Dataset(c);
  f.Csv(c, "the dataset's CSV");
  c->add_option("--out", o.out, "where to write the sealed batches (length-delimited SealedBatch)")
      ->type_name("FILE")
      ->required();
  f.Extract(c);
  f.BatchSize(c);
  f.Rows(c);
  f.Tls(c);

  c = Flags::Command(app, "withdraw", "withdraw records the provider sent, by record_id (provider)",
                     "trelink-cli withdraw --pseudonymiser HOST:7001 --linker HOST:7002 --project demo \\\n"
                     "      --dataset maternity --csv withdraw.csv " + tls);
  f.Address(c, "pseudonymiser", o.pseudonymiser, "pseudonymiser");
  f.Address(c, "linker", o.linker, "linker");
  f.Project(c, true);
  f.Dataset(c);
  f.Csv(c, "a CSV with a record_id column naming the records to withdraw");
  f.Extract(c);
  f.BatchSize(c);
  f.Tls(c);

  c = Flags::Command(app, "opt-out", "apply a national data opt-out list (linkage-admin)",
                     "trelink-cli opt-out --pseudonymiser HOST:7001 --linker HOST:7002 --project demo \\\n"
                     "      --csv opt-out-2026-11.csv --list_version 2026-11 " + tls);
  f.Address(c, "pseudonymiser", o.pseudonymiser, "pseudonymiser");
  f.Address(c, "linker", o.linker, "linker");
  f.Project(c, true);
  f.Csv(c, "a CSV with an nhs_number column");
  c->add_option("--list_version", o.list_version, "the opt-out list's version (e.g. 2026-11)")
      ->type_name("NAME")
      ->required();
  f.BatchSize(c);
  c->add_flag("--allow-rejected", o.allow_rejected, "exit 0, not 3, when numbers were left out as invalid");
  f.Tls(c);

  c = Flags::Command(app, "link", "run linkage for a project and print the report (linkage-admin)",
                     "trelink-cli link --linker HOST:7002 --project demo " + tls);
  f.Address(c, "linker", o.linker, "linker");
  f.Project(c, true);
  c->add_flag("--full", o.full,
              "link every record afresh, refit the model and re-estimate the quality (default: link only what "
              "changed since the previous generation when the linker can)");
  f.Tls(c);

  c = Flags::Command(app, "report", "print the latest linkage report (linkage-admin)",
                     "trelink-cli report --linker HOST:7002 --project demo --format json " + tls);
  f.Address(c, "linker", o.linker, "linker");
  f.Project(c, true);
  f.Html(c, "also write the report to this file as a self-contained HTML page");
  f.Tls(c);

  c = Flags::Command(app, "query", "run a query file against the aggregator and print the table (analyst)",
                     "trelink-cli query --aggregator HOST:7003 --query q1.textproto --format csv " + tls);
  f.Address(c, "aggregator", o.aggregator, "aggregator");
  c->add_option("--query", o.query, "the query (trelink.v1.CountQuery, text format)")->type_name("FILE")->required();
  f.Project(c, false, "ask in this project instead of the query file's");
  c->add_option("--truth", o.truth, "evaluation only: true counts from trelink-truth, shown beside each cell (text)")
      ->type_name("FILE");
  f.Html(c, "also write the table to this file as a self-contained HTML page");
  f.Tls(c);

  c = Flags::Command(app, "catalogue", "show the datasets, dimensions and disclosure policy (analyst)",
                     "trelink-cli catalogue --aggregator HOST:7003 --project demo " + tls);
  f.Address(c, "aggregator", o.aggregator, "aggregator");
  f.Project(c, false, "also show the project's linkage generation, its quality and privacy budget");
  f.Tls(c);

  c = Flags::Command(app, "key-info", "show the pseudonymiser's key versions and the linker key fingerprint",
                     "trelink-cli key-info --pseudonymiser HOST:7001 --project demo " + tls);
  f.Address(c, "pseudonymiser", o.pseudonymiser, "pseudonymiser");
  f.Project(c, false);
  f.Tls(c);

  c = Flags::Command(app, "health", "wait until a service reports SERVING (up to --timeout seconds)",
                     "trelink-cli health --server HOST:7002 --timeout 30 " + tls);
  c->add_option("--server", o.server, "the service's address")->type_name("HOST:PORT")->required();
  f.Tls(c);
}

absl::Status Readable(const char* flag, const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": ", std::strerror(errno)));
  }
  if (S_ISDIR(info.st_mode)) return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": a directory"));
  if (access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": not readable (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

absl::Status Writable(const char* flag, const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (access(dir.c_str(), W_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": cannot write in ", dir, " (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

absl::Status Address(const char* flag, const std::string& address) {
  if (address.empty()) return absl::OkStatus();
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", address, ": not HOST:PORT (a host name or address, a port 1-65535)"));
  }
  return absl::OkStatus();
}

}  // namespace

ParsedCommandLine ParseCliArguments(const std::vector<std::string>& args) {
  ParsedCommandLine parsed;
  CliOptions options;
  CLI::App app("trelink-cli: the command line for data providers, TRE pipelines, linkage administrators and "
               "analysts.",
               "trelink-cli");
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.get_formatter()->column_width(34);
  DefineCommands(app, options);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  if (args.size() <= 1) {
    parsed.err = app.help();
    parsed.exit_code = kExitUsage;
    return parsed;
  }
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    parsed.out = app.help();  // the chosen command's, named "trelink-cli COMMAND"
    return parsed;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      parsed.out = app.help();
      return parsed;
    }
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    parsed.err = absl::StrCat("trelink-cli: ", e.what(), "\nRun `trelink-cli ",
                              chosen.empty() ? "" : chosen.front()->get_name() + " ", "--help` for the flags.\n");
    parsed.exit_code = kExitUsage;
    return parsed;
  }
  options.command = app.get_subcommands().front()->get_name();
  parsed.options = std::move(options);
  return parsed;
}

absl::Status ValidateCliOptions(CliOptions& o) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(o.format);
  if (!format.ok()) return format.status();
  o.output_format = *format;
  if (o.timeout <= 0) return absl::InvalidArgumentError("--timeout: must be a positive number of seconds");
  if (o.batch_size <= 0) return absl::InvalidArgumentError("--batch_size: must be positive");
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"server", &o.server},
                                    {"pseudonymiser", &o.pseudonymiser},
                                    {"linker", &o.linker},
                                    {"aggregator", &o.aggregator}}) {
    if (absl::Status s = Address(flag, *value); !s.ok()) return s;
  }
  if (!o.extract.empty()) {
    if (absl::Status s = ValidateExtractName(o.extract); !s.ok()) return s;
  }
  if (o.command == "opt-out") {
    if (absl::Status s = ValidateExtractName(o.list_version); !s.ok()) {
      return absl::InvalidArgumentError("--list_version: must be 1-40 characters of [A-Za-z0-9_.-]");
    }
  }
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"csv", &o.csv},
                                    {"catalogue", &o.catalogue},
                                    {"query", &o.query},
                                    {"truth", &o.truth}}) {
    if (value->empty()) continue;
    if (absl::Status s = Readable(flag, *value); !s.ok()) return s;
  }
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"out", &o.out}, {"html", &o.html}}) {
    if (value->empty()) continue;
    if (absl::Status s = Writable(flag, *value); !s.ok()) return s;
  }
  if (!o.truth.empty() && o.output_format != OutputFormat::kText) {
    return absl::InvalidArgumentError("--truth: shown only with --format text");
  }
  return CheckClientTlsFiles(o.ca, o.cert, o.key);
}

}  // namespace trelink
