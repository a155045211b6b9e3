// The monthly cycle at scale: a linked store gets a 1% extract and is
// linked again (how long, and how many persons keep their ids), then the
// records of 1,000 persons are withdrawn and 1,000 mothers opt out (how
// long, and the counts before and after).
//
//   trelink-bench-lifecycle [--mothers 290000] [--persons 1000] [--dir DIR]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "bench/bench_report.h"
#include "common/identity/normalise.h"
#include "common/linkage/linkage_run.h"
#include "common/linkage/pairwise_quality.h"
#include "common/pseudonym/key_schema.h"
#include "common/store/sqlite_linked_store.h"
#include "common/synth/in_process_pipeline.h"

ABSL_FLAG(uint32_t, mothers, 290000, "mothers (about 3.5 records each)");
ABSL_FLAG(uint32_t, persons, 1000, "persons withdrawn, and mothers opting out");
ABSL_FLAG(std::string, dir, "/tmp/trelink-bench-lifecycle", "working directory for the store");
ABSL_FLAG(std::string, catalogue, "deploy/config/catalogue.textproto", "catalogue file");

namespace trelink {
namespace {

constexpr char kProject[] = "bench";

size_t Column(const SyntheticDataset& dataset, const std::string& name) {
  return static_cast<size_t>(std::find(dataset.header.begin(), dataset.header.end(), name) - dataset.header.begin());
}

// The pairwise agreement of two generations' persons over the participants
// both assign: of the pairs together in `a`, the share together in `b`
// (precision), and the converse (recall).
PairCounts Agreement(const std::vector<PersonAssignment>& a, const std::vector<PersonAssignment>& b) {
  absl::flat_hash_map<int64_t, uint64_t> person_in_b;
  for (const PersonAssignment& x : b) person_in_b[x.participant_id] = x.person_id;
  std::vector<uint64_t> labels_a, labels_b;
  for (const PersonAssignment& x : a) {
    auto it = person_in_b.find(x.participant_id);
    if (it == person_in_b.end()) continue;
    labels_a.push_back(x.person_id);
    labels_b.push_back(it->second);
  }
  return CountPairs(labels_a, labels_b);
}

// Events the aggregator would count in the latest generation.
uint64_t Events(LinkedStore& store, uint64_t generation) {
  uint64_t events = 0;
  (void)store.ForEachEvent(kProject, generation, [&](const EventRow&) { ++events; });
  return events;
}

struct Bench {
  Catalogue catalogue;
  LinkerKeyPair linker;
  std::unique_ptr<Pseudonymiser> pseudonymiser;
  std::unique_ptr<SqliteLinkedStore> store;
  std::unique_ptr<BatchIngester> ingester;
  LinkageOptions options;
  LinkageState state;  // as the linker keeps it between runs

  absl::StatusOr<trelink::v1::LinkageReport> Link(const std::string& name, bool full = false) {
    const auto start = std::chrono::steady_clock::now();
    LinkageRunContext context{store.get(), &Clock::System(), nullptr, 10};
    context.state = &state;
    context.full = full;
    auto report = RunLinkage(context, kProject, options);
    if (report.ok()) {
      Report(absl::StrCat("lifecycle.", name, "_seconds"), SecondsSince(start), "s");
      Report(absl::StrCat("lifecycle.", name, "_load_seconds"), report->load_seconds(), "s");
      Report(absl::StrCat("lifecycle.", name, "_link_seconds"), report->link_seconds(), "s");
      Report(absl::StrCat("lifecycle.", name, "_save_seconds"), report->save_seconds(), "s");
      if (report->mode() != (full || name == "full_link" ? "full" : "incremental")) {
        return absl::InternalError(absl::StrCat(name, ": linked ", report->mode()));
      }
    }
    return report;
  }

  // Seals `request` (a withdrawal or an opt-out list) with the pseudonymiser.
  absl::StatusOr<trelink::v1::SealedBatch> Seal(const trelink::v1::PseudonymiseBatchRequest& request) {
    auto sealed = pseudonymiser->PseudonymiseBatch(request);
    if (!sealed.ok()) return sealed.status();
    return sealed->sealed();
  }
};

// The record ids of every row of the first `persons` distinct mothers of
// maternity (by ground truth), and those mothers' NHS numbers after them.
void PickPersons(const SyntheticDataset& maternity, uint32_t persons, std::vector<std::string>& withdrawn_ids,
                 std::vector<std::string>& opted_out_numbers) {
  const size_t id = Column(maternity, "record_id"), nhs = Column(maternity, "mother_nhs_number");
  std::set<uint64_t> withdrawn, opted_out;
  for (const SyntheticRow& row : maternity.rows) {
    const uint64_t mother = row.truth.front().second;  // the mother comes first
    if (withdrawn.size() < persons && !withdrawn.count(mother)) withdrawn.insert(mother);
    if (withdrawn.count(mother)) {
      withdrawn_ids.push_back(row.cells[id]);
      continue;
    }
    std::string number;  // as the CLI sends it: valid numbers only
    if (opted_out.size() < persons && !opted_out.count(mother) &&
        NormaliseNhsNumber(row.cells[nhs], number) == NhsNumberCheck::kValid) {
      opted_out.insert(mother);
      opted_out_numbers.push_back(number);
    }
  }
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  PopulationOptions population_options;
  population_options.mothers = absl::GetFlag(FLAGS_mothers);
  SyntheticPopulation october = GeneratePopulation(population_options);
  SyntheticPopulation november = SplitOffExtract(october, 0.01);

  auto catalogue = Catalogue::Load(absl::GetFlag(FLAGS_catalogue));
  auto linker = LinkerKeyPair::Generate();
  auto keyset = MasterKeyset::Generate();
  auto options = LinkageOptions::FromPolicy({});
  if (!catalogue.ok() || !linker.ok() || !keyset.ok() || !options.ok()) return 1;
  Bench bench{*std::move(catalogue), *std::move(linker), nullptr, nullptr, nullptr, *std::move(options), {}};
  bench.options.AddCatalogueConstraints(bench.catalogue.proto());
  auto pseudonymiser =
      Pseudonymiser::Create(*std::move(keyset), bench.linker.public_key(), DefaultKeySchema(), {}, Clock::System());
  auto store = SqliteLinkedStore::Open(dir + "/linked.db", Clock::System());
  if (!pseudonymiser.ok() || !store.ok()) return 1;
  bench.pseudonymiser = *std::move(pseudonymiser);
  bench.store = *std::move(store);
  bench.ingester = std::make_unique<BatchIngester>(bench.catalogue, bench.linker, *bench.store, 100000);

  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  };
  if (auto in = IngestPopulation(october, bench.catalogue, *bench.pseudonymiser, *bench.ingester, kProject, 5000,
                                 "2026-10");
      !in.ok()) {
    return fail(in.status());
  }
  auto first = bench.Link("full_link");
  if (!first.ok()) return fail(first.status());
  Report("lifecycle.records_before_extract", static_cast<double>(first->records().value()), "records");
  // What the linker keeps in memory between runs for the next incremental one.
  const LinkageState& state = bench.state;
  Report("lifecycle.state_participants", static_cast<double>(state.table->size()), "participants");
  Report("lifecycle.state_megabytes",
         static_cast<double>(state.table->MemoryBytes() + state.set_of.capacity() * sizeof(uint32_t) +
                             state.person_of.capacity() * sizeof(uint64_t)) / 1e6,
         "MB");

  const auto extract_start = std::chrono::steady_clock::now();
  auto added = IngestPopulation(november, bench.catalogue, *bench.pseudonymiser, *bench.ingester, kProject, 5000,
                                "2026-11");
  if (!added.ok()) return fail(added.status());
  Report("lifecycle.extract_records", static_cast<double>(added->records), "records");
  Report("lifecycle.extract_ingest_seconds", SecondsSince(extract_start), "s");
  auto second = bench.Link("incremental_link_after_1pct_extract");
  if (!second.ok()) return fail(second.status());
  Report("lifecycle.incremental_participants_relinked", static_cast<double>(second->participants_relinked().value()),
         "participants");
  auto incremental = bench.store->CurrentAssignments(kProject);
  auto full = bench.Link("full_relink_after_1pct_extract", /*full=*/true);
  if (!full.ok()) return fail(full.status());
  auto relinked = bench.store->CurrentAssignments(kProject);
  if (!incremental.ok() || !relinked.ok()) return fail(absl::InternalError("assignments"));
  const PairCounts agreement = Agreement(*incremental, *relinked);
  Report("lifecycle.incremental_vs_full_pair_precision", agreement.precision(), "ratio");
  Report("lifecycle.incremental_vs_full_pair_recall", agreement.recall(), "ratio");
  Report("lifecycle.full_relink_persons_kept", static_cast<double>(full->lineage().kept().value()), "persons");
  const auto& lineage = second->lineage();
  Report("lifecycle.persons_before", static_cast<double>(first->persons().value()), "persons");
  Report("lifecycle.persons_kept", static_cast<double>(lineage.kept().value()), "persons");
  Report("lifecycle.persons_new", static_cast<double>(lineage.new_persons().value()), "persons");
  Report("lifecycle.persons_merged", static_cast<double>(lineage.merged().value()), "persons");
  Report("lifecycle.persons_split", static_cast<double>(lineage.split().value()), "persons");

  std::vector<std::string> ids, numbers;
  PickPersons(october.datasets.at("maternity"), absl::GetFlag(FLAGS_persons), ids, numbers);
  const uint64_t records_before = static_cast<uint64_t>(*bench.store->CountRecords(kProject));
  const auto withdraw_start = std::chrono::steady_clock::now();
  for (size_t start = 0; start < ids.size(); start += 5000) {
    trelink::v1::PseudonymiseBatchRequest request;
    request.set_project(kProject);
    request.set_dataset("maternity");
    request.set_batch_id(absl::StrFormat("withdraw:%06d", start));
    request.set_purpose(trelink::v1::BATCH_WITHDRAWAL);
    for (size_t i = start; i < std::min(ids.size(), start + 5000); ++i) request.add_records()->set_record_id(ids[i]);
    auto sealed = bench.Seal(request);
    if (!sealed.ok()) return fail(sealed.status());
    trelink::v1::WithdrawRequest withdrawal;
    *withdrawal.mutable_sealed() = *sealed;
    if (auto done = bench.ingester->Withdraw(withdrawal); !done.ok()) return fail(done.status());
  }
  Report("lifecycle.withdraw_seconds", SecondsSince(withdraw_start), "s");
  Report("lifecycle.withdrawn_records", static_cast<double>(ids.size()), "records");
  Report("lifecycle.records_before_withdrawal", static_cast<double>(records_before), "records");
  Report("lifecycle.records_after_withdrawal", static_cast<double>(*bench.store->CountRecords(kProject)), "records");

  const auto opt_out_start = std::chrono::steady_clock::now();
  trelink::v1::PseudonymiseBatchRequest list;
  list.set_project(kProject);
  list.set_dataset("opt-out");
  list.set_batch_id("opt-out:2026-11:0");
  list.set_purpose(trelink::v1::BATCH_OPT_OUT);
  for (const std::string& number : numbers) {
    auto* participant = list.add_records()->add_participants();
    participant->set_role("opt-out");
    participant->mutable_identifiers()->set_nhs_number(number);
  }
  auto sealed = bench.Seal(list);
  if (!sealed.ok()) return fail(sealed.status());
  trelink::v1::OptOutRequest apply;
  apply.set_list_version("2026-11");
  *apply.mutable_sealed() = *sealed;
  apply.set_complete(true);
  if (auto done = bench.ingester->ApplyOptOut(apply); !done.ok()) return fail(done.status());
  Report("lifecycle.opt_out_apply_seconds", SecondsSince(opt_out_start), "s");
  Report("lifecycle.opt_out_numbers", static_cast<double>(numbers.size()), "numbers");

  const uint64_t events_before = Events(*bench.store, second->generation());
  auto third = bench.Link("incremental_link_after_withdrawal_and_opt_out");
  if (!third.ok()) return fail(third.status());
  Report("lifecycle.events_before", static_cast<double>(events_before), "events");
  Report("lifecycle.events_after", static_cast<double>(Events(*bench.store, third->generation())), "events");
  Report("lifecycle.opt_out_persons_excluded", static_cast<double>(third->opt_out().persons_excluded().value()),
         "persons");
  for (const auto& excluded : third->opt_out().records_excluded()) {
    Report("lifecycle.opt_out_records_excluded." + excluded.dataset(), static_cast<double>(excluded.count().value()),
           "records");
  }
  Report("lifecycle.persons_kept_after_withdrawal_and_opt_out", static_cast<double>(third->lineage().kept().value()),
         "persons");
  return 0;
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return trelink::Main();
}
