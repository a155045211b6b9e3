// trelink-audit: the auditor's offline verifier of the disclosure log.
//
//   trelink-audit fetch --aggregator HOST:PORT --ca CA --cert CERT --key KEY --out DIR
//       downloads the checkpoint and every entry over mTLS (auditor role)
//   trelink-audit verify --log FILE --checkpoint FILE --pubkey log.pub [--earlier FILE] [--json]
//       recomputes the Merkle tree, checks the signed checkpoint against the
//       pinned key, consistency with an earlier checkpoint, and replays the
//       disclosure policy over every released table and the dp budget ledger
//       over every charge, printing each dp project's spent budget. Exit 0
//       only when all hold.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config/text_config.h"
#include "common/disclosure_log/disclosure_log.h"
#include "common/disclosure_log/log_verifier.h"
#include "common/log/log.h"
#include "common/server/flags_help.h"
#include "common/server/tls.h"
#include "common/status/status_macros.h"
#include "trelink/v1/disclosure_log.grpc.pb.h"

ABSL_FLAG(std::string, log, "", "disclosure log file");
ABSL_FLAG(std::string, checkpoint, "", "signed checkpoint (C2SP note) to verify against");
ABSL_FLAG(std::string, pubkey, "", "the log's verifier key, pinned by the auditor");
ABSL_FLAG(std::string, earlier, "", "an earlier checkpoint the auditor kept (optional)");
ABSL_FLAG(bool, json, false, "print the report as JSON");
ABSL_FLAG(std::string, aggregator, "", "aggregator address HOST:PORT (fetch)");
ABSL_FLAG(std::string, ca, "", "CA certificate (fetch)");
ABSL_FLAG(std::string, cert, "", "auditor certificate (fetch)");
ABSL_FLAG(std::string, key, "", "auditor private key (fetch)");
ABSL_FLAG(std::string, out, "", "output directory (fetch)");

namespace trelink {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

// Millionths of epsilon as a decimal: 3500000 -> "3.5".
std::string Epsilon(uint64_t micro) {
  std::string text = absl::StrCat(micro / 1000000);
  if (const uint64_t fraction = micro % 1000000; fraction != 0) {
    std::string digits = absl::StrFormat("%06u", static_cast<unsigned>(fraction));
    digits.erase(digits.find_last_not_of('0') + 1);
    absl::StrAppend(&text, ".", digits);
  }
  return text;
}

std::string Counted(uint64_t n, const char* noun) { return absl::StrCat(n, " ", noun, n == 1 ? "" : "s"); }

void PrintBudgetsJson(const LogVerification& result) {
  std::printf("\"budgets\": {");
  bool first = true;
  for (const auto& [project, budget] : result.budgets) {
    std::printf("%s%s: {\"spent_micro\": %llu, \"budget_micro\": %llu, \"dp_answers\": %llu, \"repeats\": %llu, "
                "\"broken_at\": %lld}",
                first ? "" : ", ", JsonString(project).c_str(), static_cast<unsigned long long>(budget.spent_micro),
                static_cast<unsigned long long>(budget.budget_micro), static_cast<unsigned long long>(budget.dp_answers),
                static_cast<unsigned long long>(budget.repeats), static_cast<long long>(budget.broken_at));
    first = false;
  }
  std::printf("}, ");
}

void PrintBudgets(const LogVerification& result) {
  for (const auto& [project, budget] : result.budgets) {
    std::printf("project %s: epsilon %s of %s spent over %s (%s)", project.c_str(), Epsilon(budget.spent_micro).c_str(),
                Epsilon(budget.budget_micro).c_str(), Counted(budget.dp_answers, "answer").c_str(),
                Counted(budget.repeats, "repeat").c_str());
    if (budget.broken_at >= 0) {
      std::printf("; the ledger breaks at entry %lld, later entries not replayed", static_cast<long long>(budget.broken_at));
    }
    std::printf("\n");
  }
}

absl::StatusOr<bool> Verify() {
  TRELINK_ASSIGN_OR_RETURN(std::vector<std::string> entries, ReadLogEntries(absl::GetFlag(FLAGS_log)));
  std::string checkpoint, earlier_text;
  TRELINK_RETURN_IF_ERROR(ReadFileToString(absl::GetFlag(FLAGS_checkpoint), checkpoint));
  TRELINK_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::Load(absl::GetFlag(FLAGS_pubkey)));
  std::optional<std::string> earlier;
  if (!absl::GetFlag(FLAGS_earlier).empty()) {
    TRELINK_RETURN_IF_ERROR(ReadFileToString(absl::GetFlag(FLAGS_earlier), earlier_text));
    earlier = earlier_text;
  }
  const auto started = std::chrono::steady_clock::now();
  const LogVerification result = VerifyDisclosureLog(entries, checkpoint, verifier, earlier);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("{\"ok\": %s, \"entries\": %llu, \"released_tables\": %llu, \"refusals\": %llu, \"cells_checked\": %llu, "
                "\"checkpoint_size\": %llu, \"root\": \"%s\", \"seconds\": %.6f, ",
                result.ok() ? "true" : "false", static_cast<unsigned long long>(result.entries),
                static_cast<unsigned long long>(result.released_tables),
                static_cast<unsigned long long>(result.refusals),
                static_cast<unsigned long long>(result.cells_checked),
                static_cast<unsigned long long>(result.checkpoint_size), result.root_hex.c_str(), seconds);
    PrintBudgetsJson(result);
    std::printf("\"problems\": [");
    for (size_t i = 0; i < result.problems.size(); ++i) {
      const LogProblem& p = result.problems[i];
      std::printf("%s{\"entry\": %lld, \"check\": %s, \"detail\": %s}", i ? ", " : "", static_cast<long long>(p.entry),
                  JsonString(p.check).c_str(), JsonString(p.detail).c_str());
    }
    std::printf("]}\n");
  } else {
    std::printf("disclosure log %s: %llu entries (%llu released tables, %llu refusals), %llu cells replayed\n",
                absl::GetFlag(FLAGS_log).c_str(), static_cast<unsigned long long>(result.entries),
                static_cast<unsigned long long>(result.released_tables),
                static_cast<unsigned long long>(result.refusals),
                static_cast<unsigned long long>(result.cells_checked));
    std::printf("checkpoint signed by %s covers %llu entries, root %s\n", verifier.name().c_str(),
                static_cast<unsigned long long>(result.checkpoint_size), result.root_hex.c_str());
    PrintBudgets(result);
    std::printf("verified in %.3f s (%.0f entries/s)\n", seconds, seconds > 0 ? result.entries / seconds : 0.0);
    for (const LogProblem& p : result.problems) {
      std::printf("FAIL %s%s: %s\n", p.check.c_str(), p.entry >= 0 ? absl::StrCat(" (entry ", p.entry, ")").c_str() : "",
                  p.detail.c_str());
    }
    std::printf("%s\n", result.ok() ? "OK: the log is intact, every release respects the policy and every budget holds"
                                    : "FAILED: see the problems above");
  }
  return result.ok();
}

// Closes a fetched file and reports any write that failed on the way (a
// full disk shows up here, when the buffer is flushed): an auditor told
// "fetched" must hold the whole log.
absl::Status CloseOutput(std::ofstream& file, const std::string& path) {
  if (file.is_open()) file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::Status Fetch() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty() || absl::GetFlag(FLAGS_aggregator).empty()) {
    return absl::InvalidArgumentError("--aggregator and --out are required");
  }
  std::error_code created;
  std::filesystem::create_directories(out, created);
  if (created) return absl::FailedPreconditionError(absl::StrCat("--out ", out, ": ", created.message()));
  TRELINK_ASSIGN_OR_RETURN(auto channel, CreateMutualTlsChannel(absl::GetFlag(FLAGS_aggregator),
                                                                {absl::GetFlag(FLAGS_ca), absl::GetFlag(FLAGS_cert),
                                                                 absl::GetFlag(FLAGS_key)}));
  auto stub = trelink::v1::AuditService::NewStub(channel);
  trelink::v1::Checkpoint checkpoint;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub->GetCheckpoint(&context, {}, &checkpoint);
    if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  trelink::v1::GetEntriesRequest request;
  request.set_end(checkpoint.size());
  const std::string log_path = out + "/disclosure.log", checkpoint_path = out + "/checkpoint";
  std::ofstream log(log_path, std::ios::binary | std::ios::trunc);
  if (!log) return absl::UnavailableError(absl::StrCat("cannot create ", log_path, ": ", std::strerror(errno)));
  auto reader = stub->GetEntries(&context, request);
  trelink::v1::RawLogEntry entry;
  uint64_t count = 0;
  while (reader->Read(&entry)) {
    const uint32_t n = static_cast<uint32_t>(entry.entry().size());
    const char length[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                            static_cast<char>(n >> 24)};
    log.write(length, 4);
    log << entry.entry();
    ++count;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  TRELINK_RETURN_IF_ERROR(CloseOutput(log, log_path));
  if (count != checkpoint.size()) {
    return absl::DataLossError(absl::StrCat("the checkpoint covers ", checkpoint.size(), " entries but ", count,
                                            " were sent"));
  }
  std::ofstream checkpoint_file(checkpoint_path, std::ios::binary | std::ios::trunc);
  checkpoint_file << checkpoint.signed_note();
  TRELINK_RETURN_IF_ERROR(CloseOutput(checkpoint_file, checkpoint_path));
  std::printf("fetched %llu entries and the checkpoint into %s\n", static_cast<unsigned long long>(count), out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-audit");
  trelink::ListOwnFlagsInHelp();
  absl::SetProgramUsageMessage(
      "trelink-audit verify|fetch [flags]\n"
      "  verify --log FILE --checkpoint FILE --pubkey FILE [--earlier FILE] [--json]\n"
      "      exit 0 only when the log, its checkpoint and every release rule hold\n"
      "  fetch --aggregator HOST:PORT --out DIR --ca FILE --cert FILE --key FILE   (auditor certificate)");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const std::string command = positional.size() == 2 ? positional[1] : "";
  if (command == "fetch") {
    absl::Status status = trelink::Fetch();
    if (!status.ok()) {
      trelink::LogError(status.ToString());
      return 1;
    }
    return 0;
  }
  if (command != "verify") {
    std::fprintf(stderr, "usage: trelink-audit verify|fetch [flags]\n");
    return 2;
  }
  absl::StatusOr<bool> ok = trelink::Verify();
  if (!ok.ok()) {
    trelink::LogError(ok.status().ToString());
    return 2;
  }
  return *ok ? 0 : 1;
}
