#include "common/linkage/blocking.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "common/concurrency/parallel.h"
#include "common/linkage/linkage_model.h"

namespace trelink {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ull;
}

// The pairs one blocking rule makes.
constexpr int kRelatedSlot = -2;

std::vector<uint64_t> RulePairs(const ParticipantTable& table, const trelink::v1::BlockingRule& rule, uint32_t max_block,
                                absl::Span<const uint32_t> related_set, const std::vector<bool>* fresh) {
  std::vector<uint64_t> pairs;
  std::vector<int> slots;
  for (const std::string& name : rule.tokens()) {
    slots.push_back(name == kRelatedPersonToken ? (related_set.empty() ? -1 : kRelatedSlot) : table.Slot(name));
  }
  if (std::find(slots.begin(), slots.end(), -1) != slots.end()) return pairs;
  // The block of p, or 0 when p lacks a token.
  auto block_of = [&](uint32_t p) -> uint64_t {
    uint64_t h = 0x12345;
    for (int slot : slots) {
      const uint64_t v = slot == kRelatedSlot ? (related_set[p] == kNoRelated ? 0 : uint64_t{related_set[p]} + 1)
                                              : table.Key(p, slot);
      if (v == 0) return 0;
      h = Mix(h, v);
    }
    return h == 0 ? 1 : h;
  };
  absl::flat_hash_set<uint64_t> fresh_blocks;
  if (fresh != nullptr) {
    for (uint32_t p = 0; p < table.size(); ++p) {
      if ((*fresh)[p]) fresh_blocks.insert(block_of(p));
    }
    fresh_blocks.erase(0);
  }
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  entries.reserve(fresh == nullptr ? table.size() : fresh_blocks.size() * 2);
  for (uint32_t p = 0; p < table.size(); ++p) {
    const uint64_t h = block_of(p);
    if (h != 0 && (fresh == nullptr || fresh_blocks.contains(h))) entries.emplace_back(h, p);
  }
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].first == entries[i].first) ++j;
    if (j - i <= max_block) {
      for (size_t x = i; x < j; ++x) {
        for (size_t y = x + 1; y < j; ++y) {
          const uint32_t a = entries[x].second, b = entries[y].second;
          if (table.record_id(a) == table.record_id(b)) continue;
          if (fresh != nullptr && !(*fresh)[a] && !(*fresh)[b]) continue;
          pairs.push_back((static_cast<uint64_t>(std::min(a, b)) << 32) | std::max(a, b));
        }
      }
    }
    i = j;
  }
  return pairs;
}

}  // namespace

CandidatePairs BlockPairs(const ParticipantTable& table,
                          const google::protobuf::RepeatedPtrField<trelink::v1::BlockingRule>& rules,
                          uint32_t max_block, absl::Span<const uint32_t> related_set,
                          const std::vector<bool>* fresh) {
  const size_t n = static_cast<size_t>(rules.size());
  std::vector<std::vector<uint64_t>> per_rule(n);
  OnEachThread(n, [&](size_t r) {
    per_rule[r] = RulePairs(table, rules[static_cast<int>(r)], max_block, related_set, fresh);
    std::sort(per_rule[r].begin(), per_rule[r].end());
    per_rule[r].erase(std::unique(per_rule[r].begin(), per_rule[r].end()), per_rule[r].end());
  });
  // Merge the sorted lists, noting which rules propose each pair.
  CandidatePairs out;
  size_t total = 0;
  for (const auto& list : per_rule) total += list.size();
  out.pairs.reserve(total);
  out.rules.reserve(total);
  std::vector<size_t> head(n, 0);
  while (true) {
    uint64_t next = UINT64_MAX;
    bool any = false;
    for (size_t r = 0; r < n; ++r) {
      if (head[r] < per_rule[r].size() && (!any || per_rule[r][head[r]] < next)) {
        next = per_rule[r][head[r]];
        any = true;
      }
    }
    if (!any) break;
    uint32_t mask = 0;
    for (size_t r = 0; r < n; ++r) {
      if (head[r] < per_rule[r].size() && per_rule[r][head[r]] == next) {
        mask |= uint32_t{1} << r;
        ++head[r];
      }
    }
    out.pairs.push_back(next);
    out.rules.push_back(mask);
  }
  return out;
}

}  // namespace trelink
