#include "common/sdc/privacy_ledger.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/config/proto_bytes.h"
#include "google/protobuf/util/message_differencer.h"

namespace trelink {

std::string QueryDigest(const trelink::v1::CountQuery& query) {
  trelink::v1::CountQuery canonical = query;
  canonical.clear_name();
  const std::string bytes = DeterministicBytes(canonical);
  std::string digest(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(digest.data()), digest.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return digest;
}

std::optional<PrivacyLedger::Earlier> PrivacyLedger::Find(const std::string& project, const std::string& digest,
                                                          uint64_t generation) const {
  std::lock_guard<std::mutex> lock(mu_);
  return FindLocked(project, digest, generation);
}

std::optional<PrivacyLedger::Earlier> PrivacyLedger::FindLocked(const std::string& project, const std::string& digest,
                                                                uint64_t generation) const {
  auto it = answers_.find({project, digest, generation});
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

uint64_t PrivacyLedger::spent(const std::string& project) const {
  std::lock_guard<std::mutex> lock(mu_);
  return SpentLocked(project);
}

void PrivacyLedger::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  spent_.clear();
  answers_.clear();
  entries_ = 0;
}

uint64_t PrivacyLedger::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

uint64_t PrivacyLedger::SpentLocked(const std::string& project) const {
  auto it = spent_.find(project);
  return it == spent_.end() ? 0 : it->second;
}

absl::StatusOr<trelink::v1::PrivacyCharge> PrivacyLedger::Charge(const std::string& project, const std::string& digest,
                                                                 const trelink::v1::DpPolicy& policy) const {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t spent_so_far = SpentLocked(project);
  if (spent_so_far + policy.epsilon_per_query_micro() > policy.budget_micro()) {
    return absl::ResourceExhaustedError(absl::StrCat("project \"", project,
                                                     "\": its privacy budget is spent; only earlier queries can be "
                                                     "answered again"));
  }
  trelink::v1::PrivacyCharge charge;
  charge.set_charged_micro(policy.epsilon_per_query_micro());
  charge.set_spent_micro(spent_so_far + policy.epsilon_per_query_micro());
  charge.set_budget_micro(policy.budget_micro());
  charge.set_query_digest(digest);
  return charge;
}

trelink::v1::PrivacyCharge PrivacyLedger::Repeat(const std::string& project, const std::string& digest,
                                                 const Earlier& earlier, const trelink::v1::DpPolicy& policy) const {
  std::lock_guard<std::mutex> lock(mu_);
  trelink::v1::PrivacyCharge charge;
  charge.set_spent_micro(SpentLocked(project));
  charge.set_budget_micro(policy.budget_micro());
  charge.set_repeat(true);
  charge.set_repeat_of(earlier.index);
  charge.set_query_digest(digest);
  return charge;
}

template <typename Fail>
absl::Status PrivacyLedger::CheckRepeatLocked(const trelink::v1::LogEntry& entry, const std::string& digest,
                                              uint64_t repeat_of, const Fail& fail) const {
  std::optional<Earlier> earlier = FindLocked(entry.project(), digest, entry.table().generation());
  if (!earlier.has_value() || earlier->index != repeat_of) return fail("repeats no earlier answer");
  trelink::v1::CountTable table = entry.table(), before = earlier->table;
  table.clear_log_index();
  table.clear_query_name();
  before.clear_log_index();
  before.clear_query_name();
  if (!google::protobuf::util::MessageDifferencer::Equals(table, before)) {
    return fail("a repeat whose table differs from the earlier answer");
  }
  return absl::OkStatus();
}

template <typename Fail>
absl::Status PrivacyLedger::ReplayReleaseLocked(const trelink::v1::LogEntry& entry, const Fail& fail) {
  if (entry.has_privacy()) return fail("a charge outside dp mode");
  const std::string digest = QueryDigest(entry.query());
  if (entry.has_repeat_of()) return CheckRepeatLocked(entry, digest, entry.repeat_of(), fail);
  // The first answer under a policy version is the one a repeat gets (logs
  // from before repeats were answered so may hold later fresh answers); a
  // new policy version answers afresh, and its answer is repeated from then.
  auto [it, first] =
      answers_.try_emplace({entry.project(), digest, entry.table().generation()}, Earlier{entry.index(), entry.table()});
  if (!first && it->second.table.policy_version() != entry.table().policy_version()) {
    it->second = Earlier{entry.index(), entry.table()};
  }
  return absl::OkStatus();
}

absl::Status PrivacyLedger::Replay(const trelink::v1::LogEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  ++entries_;
  const bool dp = entry.policy().mode() == trelink::v1::DisclosurePolicy::DP;
  if (!entry.has_table()) return absl::OkStatus();  // a refusal costs nothing
  auto fail = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("entry ", entry.index(), " (project ", entry.project(), "): ", why));
  };
  if (!dp) return ReplayReleaseLocked(entry, fail);
  if (!entry.has_privacy()) return fail("a dp answer without a privacy charge");
  const trelink::v1::PrivacyCharge& charge = entry.privacy();
  const std::string& project = entry.project();
  if (charge.query_digest() != QueryDigest(entry.query())) return fail("the charge names another query");
  if (charge.budget_micro() != entry.policy().dp().budget_micro()) return fail("the charge's budget is not the policy's");
  const uint64_t generation = entry.table().generation();
  if (entry.has_repeat_of()) return fail("an sdc repeat in dp mode");
  if (charge.repeat()) {
    if (charge.charged_micro() != 0) return fail("a repeat was charged");
    if (absl::Status same = CheckRepeatLocked(entry, charge.query_digest(), charge.repeat_of(), fail); !same.ok()) {
      return same;
    }
  } else {
    if (charge.charged_micro() != entry.policy().dp().epsilon_per_query_micro()) {
      return fail("charged other than the policy's epsilon per query");
    }
    if (FindLocked(project, charge.query_digest(), generation).has_value()) {
      return fail("a query answered afresh although an earlier answer existed");
    }
  }
  const uint64_t total = SpentLocked(project) + charge.charged_micro();
  if (charge.spent_micro() != total) {
    return fail(absl::StrCat("says ", charge.spent_micro(), " micro-epsilon spent; the log adds up to ", total));
  }
  if (total > charge.budget_micro()) return fail("the privacy budget was exceeded");
  spent_[project] = total;
  if (!charge.repeat()) answers_[{project, charge.query_digest(), generation}] = {entry.index(), entry.table()};
  return absl::OkStatus();
}

}  // namespace trelink
