// trelink-cli: the command line for data providers and TRE pipelines.
//
//   trelink-cli pseudonymise --server HOST:PORT --ca CA --cert CERT --key KEY
//       --project P --dataset D --csv FILE --out FILE.sealed [--batch_size N]
//   trelink-cli key-info --server HOST:PORT --ca CA --cert CERT --key KEY --project P
//   trelink-cli health --server HOST:PORT --ca CA --cert CERT --key KEY --timeout 30
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/log/log.h"
#include "services/cli/commands.h"

ABSL_FLAG(std::string, server, "", "service address HOST:PORT");
ABSL_FLAG(std::string, ca, "", "CA certificate the server must chain to (PEM)");
ABSL_FLAG(std::string, cert, "", "this client's certificate (PEM)");
ABSL_FLAG(std::string, key, "", "this client's private key (PEM)");
ABSL_FLAG(int, timeout, 600, "deadline of each call, seconds");
ABSL_FLAG(std::string, project, "", "project the data belongs to");
ABSL_FLAG(std::string, dataset, "", "dataset name (maternity, social_care, court, ...)");
ABSL_FLAG(std::string, csv, "", "input CSV file");
ABSL_FLAG(std::string, out, "", "output file");
ABSL_FLAG(int, batch_size, 2000, "records per batch");

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-cli");
  absl::SetProgramUsageMessage(
      "trelink-cli COMMAND [flags]\n"
      "commands:\n"
      "  pseudonymise   send a CSV's identifiers to the pseudonymiser; write sealed batches\n"
      "  key-info       show the pseudonymiser's key versions and linker key fingerprint\n"
      "  health         wait until a service reports SERVING (up to --timeout seconds)");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() != 2) {
    std::fprintf(stderr, "%s\n", absl::ProgramUsageMessage().data());
    return 2;
  }
  const std::string command = positional[1];
  trelink::Endpoint endpoint{absl::GetFlag(FLAGS_server), absl::GetFlag(FLAGS_ca), absl::GetFlag(FLAGS_cert),
                             absl::GetFlag(FLAGS_key), absl::GetFlag(FLAGS_timeout)};
  absl::Status status;
  if (command == "pseudonymise") {
    status = trelink::PseudonymiseCsv(endpoint, absl::GetFlag(FLAGS_project), absl::GetFlag(FLAGS_dataset),
                                      absl::GetFlag(FLAGS_csv), absl::GetFlag(FLAGS_out),
                                      absl::GetFlag(FLAGS_batch_size));
  } else if (command == "health") {
    status = trelink::WaitHealthy(endpoint);
  } else if (command == "key-info") {
    status = trelink::PrintKeyInfo(endpoint, absl::GetFlag(FLAGS_project));
  } else {
    std::fprintf(stderr, "unknown command \"%s\"\n%s\n", command.c_str(), absl::ProgramUsageMessage().data());
    return 2;
  }
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
