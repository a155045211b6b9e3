// Any text as an analyst's query (protobuf text format of
// trelink.v1.CountQuery), evaluated as the aggregator does: validation
// against the catalogue, evaluation over a small fixed linkage generation,
// disclosure control and the released table. An analyst is not trusted, so
// every query must end in a table or a refusal, within the cell cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/aggregate/count_query.h"
#include "common/config/text_config.h"
#include "common/sdc/disclosure_control.h"
#include "common/sdc/release_history.h"

namespace {

constexpr uint32_t kMaxCells = 2000;  // the aggregator's default cap

// One stored record with its participants' persons.
struct FixedEvent {
  std::string dataset;
  trelink::v1::ContentRecord content;
  std::vector<std::string> roles;
  std::vector<uint64_t> persons;
};

// A linked store holding one generation of a few records, two families
// across the three datasets of the default catalogue. Only what
// EventIndex::Build reads is implemented.
class FixedGenerationStore final : public trelink::LinkedStore {
 public:
  FixedGenerationStore() {
    Add("maternity", "booking", "2015-03-01", {{"region", "E12000001"}, {"imd_decile", "3"}}, {"mother"}, {1});
    Add("maternity", "birth", "2015-09-01", {{"region", "E12000001"}, {"mother_age_band", "age_20_29"}},
        {"mother", "baby"}, {1, 2});
    Add("maternity", "birth", "2018-01-01", {{"region", "E12000005"}, {"imd_decile", "10"}}, {"mother", "baby"},
        {3, 4});
    Add("maternity", "pmh_referral", "2018-02-01", {{"region", "E12000005"}}, {"mother"}, {3});
    Add("social_care", "cin_referral", "2016-05-01", {{"region", "E12000001"}, {"person_age_band", "child"}},
        {"person"}, {2});
    Add("social_care", "looked_after", "2019-01-01", {{"region", "E12000005"}, {"local_authority", "Leeds"}},
        {"person"}, {4});
    Add("court", "care_proceedings", "2017-06-01",
        {{"region", "E12000001"}, {"parent_learning_disability", "N"}, {"child_age_band", "age_1_4"}},
        {"child", "parent"}, {2, 1});
  }

  absl::StatusOr<std::optional<trelink::StoredBatch>> FindBatch(const std::string&, const std::string&,
                                                                const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::StatusOr<uint32_t> StoreBatch(const trelink::BatchToStore&) override {
    return absl::UnimplementedError("fixed");
  }
  absl::StatusOr<trelink::WithdrawalCounts> WithdrawRecords(absl::Span<const std::string>) override {
    return absl::UnimplementedError("fixed");
  }
  absl::StatusOr<uint64_t> StageOptOut(const std::string&, const std::string&, const std::string&, uint32_t,
                                       absl::Span<const std::string>) override {
    return absl::UnimplementedError("fixed");
  }
  absl::Status ActivateOptOut(const std::string&, const std::string&) override {
    return absl::UnimplementedError("fixed");
  }
  absl::StatusOr<std::optional<trelink::OptOutList>> ActiveOptOut(const std::string&) override {
    return std::nullopt;
  }
  absl::StatusOr<std::set<uint32_t>> LiveKeyVersions(const std::string&) override { return std::set<uint32_t>{}; }
  absl::StatusOr<std::vector<std::string>> KeyNames(const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::Status ForEachParticipant(const std::string&, const std::function<void(const trelink::ParticipantRow&)>&,
                                  int64_t) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::StatusOr<std::vector<int64_t>> RetiredParticipants(const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::Status SaveGeneration(const std::string&, trelink::v1::LinkageReport&, const trelink::AssignmentChanges&,
                              const std::vector<trelink::LineageEvent>&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::StatusOr<std::optional<trelink::v1::LinkageReport>> LatestReport(const std::string&) override {
    trelink::v1::LinkageReport report;
    report.set_generation(1);
    return report;
  }
  absl::StatusOr<std::vector<trelink::PersonAssignment>> LatestAssignments(const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::StatusOr<std::vector<trelink::PersonAssignment>> CurrentAssignments(const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::StatusOr<absl::flat_hash_map<int64_t, int64_t>> SuccessorParticipants(const std::string&) override {
    return absl::UnimplementedError("fixed generation");
  }
  absl::Status ForEachEvent(const std::string&, uint64_t,
                            const std::function<void(const trelink::EventRow&)>& visit) override {
    int64_t record_id = 0;
    for (const FixedEvent& e : events_) visit({++record_id, e.dataset, e.content, e.roles, e.persons});
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> CountRecords(const std::string&) override { return static_cast<int64_t>(events_.size()); }
  absl::StatusOr<std::unique_ptr<LinkageLease>> LeaseLinkage(const std::string&) override {
    return absl::UnimplementedError("fixed");
  }

 private:
  void Add(std::string dataset, std::string event, std::string date,
           std::vector<std::pair<std::string, std::string>> attributes, std::vector<std::string> roles,
           std::vector<uint64_t> persons) {
    FixedEvent e{std::move(dataset), {}, std::move(roles), std::move(persons)};
    e.content.set_event(std::move(event));
    e.content.set_event_date(std::move(date));
    for (auto& [name, value] : attributes) (*e.content.mutable_attributes())[name] = value;
    events_.push_back(std::move(e));
  }
  std::vector<FixedEvent> events_;
};

struct Fixture {
  trelink::Catalogue catalogue;
  std::shared_ptr<const trelink::EventIndex> index;
};

const Fixture& Fixed() {
  static const Fixture* fixture = [] {
    absl::StatusOr<trelink::Catalogue> catalogue =
        trelink::Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
    if (!catalogue.ok()) std::abort();
    auto* f = new Fixture{*std::move(catalogue), nullptr};
    FixedGenerationStore store;
    absl::StatusOr<std::shared_ptr<const trelink::EventIndex>> index =
        trelink::EventIndex::Build(store, f->catalogue, "demo");
    if (!index.ok() || (*index)->events() != 7) std::abort();
    f->index = *index;
    return f;
  }();
  return *fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& fixed = Fixed();
  trelink::v1::CountQuery query;
  if (!trelink::ParseTextConfig(std::string(reinterpret_cast<const char*>(data), size), "fuzz", query).ok()) {
    return 0;
  }
  absl::StatusOr<trelink::EvaluatedCount> evaluated = trelink::EvaluateCount(*fixed.index, query, kMaxCells);
  if (!evaluated.ok()) return 0;
  if (evaluated->table.cells.size() > kMaxCells) std::abort();
  trelink::InMemoryReleaseHistory history;
  // k = 2 and no rounding, so that the few persons here fill released cells
  // and secondary suppression has work to do.
  trelink::v1::DisclosurePolicy config;
  config.set_version("fuzz");
  config.set_threshold(2);
  config.set_rounding_base(1);
  absl::StatusOr<trelink::v1::DisclosurePolicy> policy = trelink::ValidatePolicy(config);
  if (!policy.ok()) std::abort();
  absl::StatusOr<std::unique_ptr<trelink::DisclosureControl>> control =
      trelink::DisclosureControl::Create(*policy, history, nullptr);
  if (!control.ok()) std::abort();
  if (!(*control)->Apply(query.project(), *fixed.index, evaluated->table, nullptr).ok()) std::abort();
  const trelink::v1::CountTable table = trelink::ToCountTable(query, *evaluated, policy->version(), 1);
  for (const auto& cell : table.cells()) {
    if (cell.values_size() != table.dimensions_size()) std::abort();
    if (cell.count() != 0 && cell.count() < policy->threshold()) std::abort();  // a small count released
  }
  return 0;
}
