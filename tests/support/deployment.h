// A throw-away local deployment for end-to-end tests: keys made by the real
// trelink-keygen and service configs pointing at the dev certificates.
#pragma once

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "trelink/v1/linkage.pb.h"
#include "tests/support/service_process.h"

namespace trelink::testing {

// CLI flags presenting the dev certificate of `identity`.
inline std::vector<std::string> TlsFlags(const std::string& identity) {
  const std::string certs = CertDir();
  return {"--ca", certs + "/ca.pem", "--cert", certs + "/" + identity + ".pem", "--key",
          certs + "/" + identity + ".key"};
}

inline std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The flags of `flags` ("--name value" pairs, as CliEndpoints() gives) that
// trelink-cli's `command` takes: a flag of another command is a usage error.
inline std::vector<std::string> FlagsFor(const std::string& command, const std::vector<std::string>& flags) {
  const std::map<std::string, std::vector<std::string>> taken = {
      {"ingest", {"--pseudonymiser", "--linker", "--catalogue", "--project", "--batch_size"}},
      {"pseudonymise", {"--pseudonymiser", "--catalogue", "--project", "--batch_size"}},
      {"withdraw", {"--pseudonymiser", "--linker", "--project", "--batch_size"}},
      {"opt-out", {"--pseudonymiser", "--linker", "--project", "--batch_size"}},
      {"link", {"--linker", "--project"}},
      {"report", {"--linker", "--project"}},
      {"key-info", {"--pseudonymiser", "--project"}},
  };
  const std::vector<std::string>& names = taken.at(command);
  std::vector<std::string> kept;
  for (size_t i = 0; i + 1 < flags.size(); i += 2) {
    if (std::find(names.begin(), names.end(), flags[i]) == names.end()) continue;
    kept.push_back(flags[i]);
    kept.push_back(flags[i + 1]);
  }
  return kept;
}

// Each provider ingests its dataset CSV from `dir` with trelink-cli;
// `endpoints` carries the service addresses, catalogue and project flags.
inline std::vector<ProcessResult> IngestAllDatasets(const std::string& dir, const std::vector<std::string>& endpoints) {
  std::vector<ProcessResult> results;
  for (const auto& [dataset, provider] : std::vector<std::pair<std::string, std::string>>{
           {"maternity", "provider.maternity"}, {"social_care", "provider.social-care"}, {"court", "provider.court"}}) {
    results.push_back(RunCommand(
        BinaryDir() + "/trelink-cli",
        Concat(Concat({"ingest", "--dataset", dataset, "--csv", dir + "/" + dataset + ".csv"}, endpoints),
               TlsFlags(provider)),
        dir));
  }
  return results;
}

// What trelink-synth's truth.csv (dataset, record, role, person) says a
// perfect linkage would report.
struct TruthCounts {
  size_t records = 0;
  uint64_t participants = 0;
  size_t persons = 0;
};
inline TruthCounts ReadTruthCounts(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::set<std::string> persons, records;
  TruthCounts counts;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    EXPECT_EQ(cells.size(), 4u) << path << ": " << line;
    if (cells.size() != 4) continue;
    persons.insert(cells[3]);
    records.insert(cells[0] + "/" + cells[1]);
    ++counts.participants;
  }
  counts.records = records.size();
  counts.persons = persons.size();
  return counts;
}

// Checks a linkage report against the truth: every record and participant,
// and persons within 1% of the true number (precision and recall are
// measured pairwise by linkage_quality_test).
inline void ExpectReportMatchesTruth(const trelink::v1::LinkageReport& report, const TruthCounts& truth) {
  EXPECT_EQ(report.records().value(), truth.records);
  EXPECT_EQ(report.participants().value(), truth.participants);
  const double ratio = static_cast<double>(report.persons().value()) / static_cast<double>(truth.persons);
  EXPECT_GT(ratio, 0.99) << report.persons().value() << " vs " << truth.persons;
  EXPECT_LT(ratio, 1.01) << report.persons().value() << " vs " << truth.persons;
}

// The access block every test deployment uses.
inline std::string TestAccessPolicy() {
  return R"pb(
  access {
    principals { identity: "provider.maternity" role: PROVIDER projects: "demo" datasets: "maternity" }
    principals { identity: "provider.social-care" role: PROVIDER projects: "demo" datasets: "social_care" }
    principals { identity: "provider.court" role: PROVIDER projects: "demo" datasets: "court" }
    principals { identity: "linkage-admin" role: LINKAGE_ADMIN projects: "*" }
    principals { identity: "analyst" role: ANALYST projects: "demo" }
    principals { identity: "auditor" role: AUDITOR projects: "*" }
  })pb";
}

inline std::string ServerBlock(const std::string& service) {
  const std::string certs = CertDir();
  return absl::StrCat("server {\n  listen_address: \"127.0.0.1:0\"\n  port_file: \"", service, ".port\"\n",
                      "  tls { certificate_file: \"", certs, "/", service, ".pem\" private_key_file: \"", certs, "/",
                      service, ".key\" client_ca_file: \"", certs, "/ca.pem\" }\n", TestAccessPolicy(), "\n}\n");
}

// Creates master.keyset, linker.keypair/linker.pub and log.key/log.pub in
// `dir` with the real keygen and writes pseudonymiser.textproto,
// linker.textproto and aggregator.textproto. The linked store is linked.db
// in `dir`, or the PostgreSQL database `database_url` when given. Returns
// false (with a test failure) when keygen fails.
inline bool PrepareDeployment(const std::string& dir, const std::string& database_url = "") {
  const std::string store = database_url.empty() ? "database_file: \"linked.db\"\n"
                                                 : absl::StrCat("database_url: \"", database_url, "\"\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"master", "--out", "master.keyset"},
        std::vector<std::string>{"linker", "--out", "linker.keypair", "--public-out", "linker.pub"},
        std::vector<std::string>{"log", "--name", "trelink.test/log", "--out", "log.key", "--public-out", "log.pub"}}) {
    ProcessResult keygen = RunCommand(BinaryDir() + "/trelink-keygen", args, dir);
    EXPECT_EQ(keygen.exit_code, 0) << keygen.stderr_text;
    if (keygen.exit_code != 0) return false;
  }
  std::ofstream(dir + "/pseudonymiser.textproto")
      << ServerBlock("pseudonymiser") << "master_key_file: \"master.keyset\"\nlinker_public_key_file: \"linker.pub\"\n"
      << "catalogue_file: \"" << TRELINK_SOURCE_DIR << "/deploy/config/catalogue.textproto\"\n";
  std::ofstream(dir + "/linker.textproto")
      << ServerBlock("linker") << "linker_key_file: \"linker.keypair\"\ncatalogue_file: \"" << TRELINK_SOURCE_DIR
      << "/deploy/config/catalogue.textproto\"\n" << store;
  std::ofstream(dir + "/aggregator.textproto")
      << ServerBlock("aggregator") << "catalogue_file: \"" << TRELINK_SOURCE_DIR
      << "/deploy/config/catalogue.textproto\"\n" << store << "projects: \"demo\"\n"
      << "policy { version: \"test-1\" threshold: 10 rounding_base: 5 release_zeros: true }\n"
      << "log_file: \"disclosure.log\"\nlog_signing_key_file: \"log.key\"\nrefresh_seconds: 1\n";
  return true;
}

// Services started from the configs PrepareDeployment wrote, with their
// ports by name ("pseudonymiser", "linker", "aggregator").
struct RunningServices {
  std::vector<ServiceProcess> processes;
  std::map<std::string, int> ports;

  // The CLI's flags for the pseudonymiser, linker, catalogue and project demo.
  std::vector<std::string> CliEndpoints() const {
    return {"--pseudonymiser", absl::StrCat("127.0.0.1:", ports.at("pseudonymiser")),
            "--linker",        absl::StrCat("127.0.0.1:", ports.at("linker")),
            "--catalogue",     std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto",
            "--project",       "demo"};
  }
};

// Starts each of `names` in `dir` and waits until it serves; false (with a
// test failure) when one does not.
inline bool StartServices(const std::string& dir, const std::vector<std::string>& names, RunningServices& running) {
  for (const std::string& name : names) {
    auto process = ServiceProcess::Start(BinaryDir() + "/trelink-" + name, {"--config", name + ".textproto"}, dir);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return false;
    auto port = process->WaitUntilServing(name + ".port", "auditor", absl::Seconds(30));
    EXPECT_TRUE(port.ok()) << name << ": " << port.status();
    if (!port.ok()) return false;
    running.ports[name] = *port;
    running.processes.push_back(*std::move(process));
  }
  return true;
}

}  // namespace trelink::testing
