// Disclosure-log entries for tests that need a log with something in it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sdc/privacy_ledger.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink::testing {

// A logged refusal of query `n`; `message_bytes` pads it out when a test
// needs a log of some size.
inline trelink::v1::LogEntry RefusalEntry(int n, size_t message_bytes = 40) {
  trelink::v1::LogEntry entry;
  entry.mutable_query()->set_name(absl::StrCat("query ", n));
  entry.set_refusal_code("INVALID_ARGUMENT");
  entry.set_refusal_message(std::string(message_bytes, 'x'));
  return entry;
}

// One row of a one-dimensional table over "region": value, released count,
// status, and the reason logged for auditors.
struct LoggedCell {
  std::string value;
  uint64_t count;
  trelink::v1::CellStatus status;
  trelink::v1::SuppressionReason reason;
};

inline void AddTable(trelink::v1::LogEntry& entry, const std::vector<LoggedCell>& cells) {
  auto* table = entry.mutable_table();
  table->set_policy_version(entry.policy().version());
  table->set_query_name(entry.query().name());
  table->add_dimensions("region");
  for (const LoggedCell& logged : cells) {
    auto* cell = table->add_cells();
    cell->add_values(logged.value);
    cell->set_is_total(logged.value == "*");
    cell->set_count(logged.count);
    cell->set_status(logged.status);
    entry.add_suppression_reasons(logged.reason);
  }
}

// An sdc release of query `n` in project "demo" (k = 10, base 5) as the
// aggregator logs it: A below the threshold, B protecting it, C and the
// total rounded, and the release audit's summary.
inline trelink::v1::LogEntry SdcRelease(int n) {
  trelink::v1::LogEntry entry;
  entry.set_time("2026-11-26T12:00:00Z");
  entry.set_caller("analyst");
  entry.set_role("analyst");
  entry.set_project("demo");
  entry.mutable_query()->set_project("demo");
  entry.mutable_query()->set_name(absl::StrCat("query ", n));
  auto* policy = entry.mutable_policy();
  policy->set_version("v1");
  policy->set_mode(trelink::v1::DisclosurePolicy::SDC);
  policy->set_threshold(10);
  policy->set_rounding_base(5);
  AddTable(entry, {{"A", 0, trelink::v1::SUPPRESSED, trelink::v1::BELOW_THRESHOLD},
                   {"B", 0, trelink::v1::SUPPRESSED, trelink::v1::PROTECTS_ANOTHER_CELL},
                   {"C", 40, trelink::v1::ROUNDED, trelink::v1::NOT_SUPPRESSED},
                   {"*", 65, trelink::v1::ROUNDED, trelink::v1::NOT_SUPPRESSED}});
  auto* audit = entry.mutable_release_audit();
  audit->set_classes(3);
  audit->set_protected_counts(2);
  audit->set_narrowest_interval(12);
  return entry;
}

// The dp policy of project "demo-dp": epsilon 0.5 per query, a budget of 2.
inline trelink::v1::DisclosurePolicy DpPolicy() {
  trelink::v1::DisclosurePolicy policy;
  policy.set_version("dp1");
  policy.set_mode(trelink::v1::DisclosurePolicy::DP);
  policy.set_threshold(10);
  policy.set_rounding_base(5);
  policy.mutable_dp()->set_epsilon_per_query_micro(500000);
  policy.mutable_dp()->set_budget_micro(2000000);
  policy.mutable_dp()->set_max_contributions(1);
  return policy;
}

// A dp answer in project "demo-dp" (generation 3) to the births query for
// `event`, with its charge written out by hand: `spent_micro` is the
// project's total after it. A repeat (of entry `repeat_of`) is charged
// nothing and carries the earlier table and no reasons. The noisy A is
// below the threshold; the margin is the sum of the noisy cells, so A
// could be recovered as noise only.
inline trelink::v1::LogEntry DpAnswer(const std::string& event, uint64_t spent_micro,
                                      std::optional<uint64_t> repeat_of = std::nullopt) {
  trelink::v1::LogEntry entry;
  entry.set_time("2026-11-26T12:00:00Z");
  entry.set_caller("analyst");
  entry.set_role("analyst");
  entry.set_project("demo-dp");
  auto* query = entry.mutable_query();
  query->set_project("demo-dp");
  query->set_name(absl::StrCat(event, repeat_of.has_value() ? " again" : ""));
  query->mutable_cohort()->set_dataset("births");
  query->mutable_cohort()->add_events(event);
  *entry.mutable_policy() = DpPolicy();
  AddTable(entry, {{"A", 0, trelink::v1::SUPPRESSED, trelink::v1::NOISY_BELOW_THRESHOLD},
                   {"B", 35, trelink::v1::ROUNDED, trelink::v1::NOT_SUPPRESSED},
                   {"*", 40, trelink::v1::ROUNDED, trelink::v1::NOT_SUPPRESSED}});
  entry.mutable_table()->set_generation(3);
  auto* charge = entry.mutable_privacy();
  charge->set_charged_micro(repeat_of.has_value() ? 0 : 500000);
  charge->set_spent_micro(spent_micro);
  charge->set_budget_micro(2000000);
  charge->set_query_digest(::trelink::QueryDigest(*query));
  if (repeat_of.has_value()) {
    entry.clear_suppression_reasons();
    charge->set_repeat(true);
    charge->set_repeat_of(*repeat_of);
  }
  return entry;
}

// A dp-mode refusal in project "demo-dp": it costs nothing.
inline trelink::v1::LogEntry DpRefusal() {
  trelink::v1::LogEntry entry = RefusalEntry(0);
  entry.set_project("demo-dp");
  *entry.mutable_policy() = DpPolicy();
  entry.set_refusal_code("RESOURCE_EXHAUSTED");
  return entry;
}

// A log with both modes: an sdc release, then dp answers to "a", "b", "a"
// again (a repeat of entry 1), a refusal, and "c": 1.5 of 2 spent over 4
// answers, 1 of them a repeat.
inline std::vector<trelink::v1::LogEntry> MixedModeLog() {
  return {SdcRelease(0), DpAnswer("a", 500000), DpAnswer("b", 1000000), DpAnswer("a", 1000000, 1), DpRefusal(),
          DpAnswer("c", 1500000)};
}

}  // namespace trelink::testing
