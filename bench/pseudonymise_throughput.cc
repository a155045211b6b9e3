// Pseudonymisation throughput: the in-process rate of the hashing and sealing
// code (the practical limit) against the same code behind gRPC with mTLS over
// loopback, driven through the bulk stream. Prints one JSON object per
// measurement.
//
//   trelink-bench-pseudonymise --certs DIR [--records N] [--batch B] [--runs R] [--streams S]
//
// The service is hosted in this process on 127.0.0.1 (real TCP, real TLS);
// the client streams batches on S concurrent streams.
#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "bench/bench_report.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/pseudonym/key_schema.h"
#include "common/server/service_host.h"
#include "common/server/tls.h"
#include "services/pseudonymiser/pseudonym_service.h"

ABSL_FLAG(std::string, certs, "build/test-certs", "dev certificate directory (deploy/dev-certs.sh)");
ABSL_FLAG(int, records, 200000, "records per run (each has a mother and a baby: two person-records)");
ABSL_FLAG(int, batch, 2000, "records per batch");
ABSL_FLAG(int, runs, 5, "runs per measurement; the median is reported");
ABSL_FLAG(int, streams, 2, "concurrent client streams for the gRPC measurement");
ABSL_FLAG(std::string, catalogue, "deploy/config/catalogue.textproto", "catalogue file");

namespace trelink {
namespace {

using trelink::v1::PseudonymiseBatchRequest;

std::vector<PseudonymiseBatchRequest> MakeBatches(int records, int batch_size) {
  static const char* kGiven[] = {"Amelia", "Olivia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily",
                                 "Zoë", "Chloé", "Aisha", "Fatima", "Maryam", "Hannah", "Ella", "Evie", "Poppy", "Ruby"};
  static const char* kFamily[] = {"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
                                  "O'Brien", "Patel", "Khan", "Robinson", "Wright", "Thompson", "Evans", "Walker",
                                  "Smith-Jones", "Müller", "Hughes", "Edwards"};
  std::mt19937 rng(42);
  std::vector<PseudonymiseBatchRequest> batches;
  for (int start = 0; start < records; start += batch_size) {
    PseudonymiseBatchRequest request;
    request.set_project("bench");
    request.set_dataset("maternity");
    request.set_batch_id(absl::StrCat("bench-", start));
    for (int i = start; i < std::min(records, start + batch_size); ++i) {
      auto* record = request.add_records();
      auto* mother = record->add_participants();
      mother->set_role("mother");
      auto* m = mother->mutable_identifiers();
      // A valid NHS number: 9 random digits plus the mod-11 check digit.
      std::string nhs;
      int check = 10;
      while (check == 10) {
        nhs.clear();
        int sum = 0;
        for (int d = 0; d < 9; ++d) {
          const int digit = static_cast<int>(rng() % 10);
          nhs.push_back(static_cast<char>('0' + digit));
          sum += digit * (10 - d);
        }
        check = 11 - sum % 11;
        if (check == 11) check = 0;
      }
      nhs.push_back(static_cast<char>('0' + check));
      m->set_nhs_number(nhs);
      m->set_given_name(kGiven[rng() % 20]);
      m->set_family_name(kFamily[rng() % 20]);
      m->set_date_of_birth(absl::StrFormat("%04d-%02d-%02d", 1970 + rng() % 35, 1 + rng() % 12, 1 + rng() % 28));
      m->set_sex("F");
      m->set_postcode(absl::StrFormat("LS%d %d%c%c", 1 + rng() % 20, rng() % 10, 'A' + rng() % 26, 'A' + rng() % 26));
      auto* baby = record->add_participants();
      baby->set_role("baby");
      auto* b = baby->mutable_identifiers();
      b->set_given_name(kGiven[rng() % 20]);
      b->set_family_name(m->family_name());
      b->set_date_of_birth(absl::StrFormat("%04d-%02d-%02d", 2011 + rng() % 12, 1 + rng() % 12, 1 + rng() % 28));
      b->set_sex(rng() % 2 ? "F" : "M");
      b->set_postcode(m->postcode());
    }
    batches.push_back(std::move(request));
  }
  return batches;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Person-records per second with `threads` threads sharing the batches.
double InProcessRate(const Pseudonymiser& p, const std::vector<PseudonymiseBatchRequest>& batches, int threads) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> people{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < batches.size(); i = next++) {
        auto r = p.PseudonymiseBatch(batches[i]);
        if (!r.ok()) std::abort();
        people += r->stats().participants();
      }
    });
  }
  for (auto& w : workers) w.join();
  return people / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double GrpcRate(int port, const std::string& certs, const std::vector<PseudonymiseBatchRequest>& batches,
                int streams) {
  auto channel = *CreateMutualTlsChannel(absl::StrCat("127.0.0.1:", port),
                                         {certs + "/ca.pem", certs + "/provider.maternity.pem",
                                          certs + "/provider.maternity.key"});
  auto stub = trelink::v1::PseudonymService::NewStub(channel);
  const auto start = std::chrono::steady_clock::now();
  std::atomic<uint64_t> people{0};
  std::vector<std::thread> clients;
  for (int s = 0; s < streams; ++s) {
    clients.emplace_back([&, s] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
      auto stream = stub->PseudonymiseStream(&context);
      std::thread reader([&] {
        trelink::v1::PseudonymiseBatchResponse response;
        while (stream->Read(&response)) people += response.stats().participants();
      });
      for (size_t i = static_cast<size_t>(s); i < batches.size(); i += static_cast<size_t>(streams)) {
        if (!stream->Write(batches[i])) break;
      }
      stream->WritesDone();
      reader.join();
      grpc::Status status = stream->Finish();
      if (!status.ok()) {
        std::fprintf(stderr, "stream failed: %s\n", status.error_message().c_str());
        std::abort();
      }
    });
  }
  for (auto& c : clients) c.join();
  return people / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Main() {
  const std::string certs = absl::GetFlag(FLAGS_certs);
  const auto batches = MakeBatches(absl::GetFlag(FLAGS_records), absl::GetFlag(FLAGS_batch));
  auto keyset = MasterKeyset::Generate();
  auto linker = LinkerKeyPair::Generate();
  auto pseudonymiser = Pseudonymiser::Create(*std::move(keyset), linker->public_key(), DefaultKeySchema(), {},
                                             Clock::System());
  if (!pseudonymiser.ok()) return 1;
  trelink::v1::AccessPolicy access_config;
  auto* principal = access_config.add_principals();
  principal->set_identity("provider.maternity");
  principal->set_role(trelink::v1::PROVIDER);
  principal->add_projects("bench");
  principal->add_datasets("maternity");
  AccessPolicy access = *AccessPolicy::Create(access_config);
  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  if (!catalogue.ok()) {
    std::fprintf(stderr, "%s\n", catalogue.status().ToString().c_str());
    return 1;
  }
  PseudonymHandler handler(**pseudonymiser, access, *catalogue);
  PseudonymServiceImpl service(handler);
  trelink::v1::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.mutable_tls()->set_certificate_file(certs + "/pseudonymiser.pem");
  config.mutable_tls()->set_private_key_file(certs + "/pseudonymiser.key");
  config.mutable_tls()->set_client_ca_file(certs + "/ca.pem");
  auto host = ServiceHost::Start("bench-pseudonymiser", config, {&service});
  if (!host.ok()) {
    std::fprintf(stderr, "%s\n", host.status().ToString().c_str());
    return 1;
  }
  const int runs = absl::GetFlag(FLAGS_runs);
  std::vector<double> one, two, remote;
  for (int r = 0; r < runs; ++r) {
    one.push_back(InProcessRate(**pseudonymiser, batches, 1));
    two.push_back(InProcessRate(**pseudonymiser, batches, 2));
    remote.push_back(GrpcRate((*host)->port(), certs, batches, absl::GetFlag(FLAGS_streams)));
  }
  const double limit = Median(two);
  Report("pseudonymise.in_process.1_thread", Median(one), "person-records/s");
  Report("pseudonymise.in_process.2_threads", limit, "person-records/s");
  Report("pseudonymise.grpc_mtls_stream", Median(remote), "person-records/s");
  ReportRatio("pseudonymise.grpc_over_in_process", Median(remote) / limit, "pseudonymise.in_process.2_threads");
  (*host)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
