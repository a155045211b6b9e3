#include "common/linkage/person_ids.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace trelink {
namespace {

// Linkage ids fit SQLite's signed integers.
constexpr uint64_t kIdBits = 0x7fffffffffffffffull;

// The participants of one previous person that are in one new cluster.
struct Overlap {
  uint64_t previous_person = 0;
  uint32_t cluster = 0;  // numbered by NumberClusters
  uint64_t participants = 0;
  int64_t first_participant = 0;  // the smallest participant id among them
  bool successor = false;         // this cluster is the previous person's successor
};

// Which of two overlaps in one cluster names the person the cluster keeps
// (or splits from): more participants, then the earlier first participant.
bool OutweighsInCluster(const Overlap& a, const Overlap& b) {
  return std::make_tuple(b.participants, a.first_participant) < std::make_tuple(a.participants, b.first_participant);
}

// Which of two overlaps of one previous person is its successor: more
// participants, then the cluster with the smaller smallest participant id.
bool OutweighsForPerson(const Overlap& a, const Overlap& b) {
  return std::make_tuple(b.participants, a.cluster) < std::make_tuple(a.participants, b.cluster);
}

// Numbers the clusters 0.. in order of their smallest participant id; returns
// each participant's number and sets `count`.
std::vector<uint32_t> NumberClusters(absl::Span<const ClusteredParticipant> clustering, uint32_t& count) {
  absl::flat_hash_map<uint32_t, int64_t> first_of;
  for (const ClusteredParticipant& p : clustering) {
    auto [it, fresh] = first_of.try_emplace(p.cluster, p.participant_id);
    if (!fresh) it->second = std::min(it->second, p.participant_id);
  }
  std::vector<std::pair<int64_t, uint32_t>> order;
  order.reserve(first_of.size());
  for (const auto& [label, first] : first_of) order.emplace_back(first, label);
  std::sort(order.begin(), order.end());
  absl::flat_hash_map<uint32_t, uint32_t> number_of;
  for (uint32_t n = 0; n < order.size(); ++n) number_of[order[n].second] = n;
  count = static_cast<uint32_t>(order.size());
  std::vector<uint32_t> numbers;
  numbers.reserve(clustering.size());
  for (const ClusteredParticipant& p : clustering) numbers.push_back(number_of[p.cluster]);
  return numbers;
}

// Every (previous person, new cluster) pair sharing participants, sorted by
// previous person then cluster, with each previous person's successor marked.
std::vector<Overlap> FindOverlaps(absl::Span<const ClusteredParticipant> clustering,
                                  const std::vector<uint32_t>& cluster_of,
                                  const absl::flat_hash_map<int64_t, uint64_t>& previous_person_of) {
  absl::flat_hash_map<std::pair<uint64_t, uint32_t>, size_t> index;
  std::vector<Overlap> overlaps;
  for (size_t i = 0; i < clustering.size(); ++i) {
    auto previous = previous_person_of.find(clustering[i].participant_id);
    if (previous == previous_person_of.end()) continue;
    auto [it, fresh] = index.try_emplace({previous->second, cluster_of[i]}, overlaps.size());
    if (fresh) overlaps.push_back({previous->second, cluster_of[i], 0, clustering[i].participant_id});
    Overlap& o = overlaps[it->second];
    ++o.participants;
    o.first_participant = std::min(o.first_participant, clustering[i].participant_id);
  }
  std::sort(overlaps.begin(), overlaps.end(), [](const Overlap& a, const Overlap& b) {
    return std::tie(a.previous_person, a.cluster) < std::tie(b.previous_person, b.cluster);
  });
  for (size_t begin = 0, end = 0; begin < overlaps.size(); begin = end) {
    size_t best = begin;
    for (end = begin + 1; end < overlaps.size() && overlaps[end].previous_person == overlaps[begin].previous_person;
         ++end) {
      if (OutweighsForPerson(overlaps[end], overlaps[best])) best = end;
    }
    overlaps[best].successor = true;
  }
  return overlaps;
}

// Draws fresh ids: 63 bits, nonzero, none already taken.
class FreshIds {
 public:
  FreshIds(const std::function<uint64_t()>& random_id, absl::flat_hash_set<uint64_t> taken)
      : random_id_(random_id), taken_(std::move(taken)) {}

  uint64_t Draw() {
    uint64_t id;
    do {
      id = random_id_() & kIdBits;
    } while (id == 0 || !taken_.insert(id).second);
    return id;
  }

 private:
  const std::function<uint64_t()>& random_id_;
  absl::flat_hash_set<uint64_t> taken_;
};

// For each cluster, the overlap whose person it keeps (null: none) and the
// overlap it would split from (null: it has no previous participants).
struct ClusterOrigins {
  std::vector<const Overlap*> kept;
  std::vector<const Overlap*> split_from;
};

ClusterOrigins FindOrigins(const std::vector<Overlap>& overlaps, uint32_t clusters) {
  ClusterOrigins origins{std::vector<const Overlap*>(clusters), std::vector<const Overlap*>(clusters)};
  auto offer = [](const Overlap*& best, const Overlap& o) {
    if (best == nullptr || OutweighsInCluster(o, *best)) best = &o;
  };
  for (const Overlap& o : overlaps) {
    offer(origins.split_from[o.cluster], o);
    if (o.successor) offer(origins.kept[o.cluster], o);
  }
  return origins;
}

}  // namespace

PersonIds AssignPersonIds(absl::Span<const ClusteredParticipant> clustering,
                          absl::Span<const PersonAssignment> previous, const std::function<uint64_t()>& random_id) {
  absl::flat_hash_map<int64_t, uint64_t> previous_person_of;
  absl::flat_hash_set<uint64_t> previous_ids;
  previous_person_of.reserve(previous.size());
  for (const PersonAssignment& a : previous) {
    previous_person_of.emplace(a.participant_id, a.person_id);
    previous_ids.insert(a.person_id);
  }
  uint32_t clusters = 0;
  const std::vector<uint32_t> cluster_of = NumberClusters(clustering, clusters);
  const std::vector<Overlap> overlaps = FindOverlaps(clustering, cluster_of, previous_person_of);
  const ClusterOrigins origins = FindOrigins(overlaps, clusters);
  FreshIds fresh(random_id, std::move(previous_ids));

  PersonIds ids;
  std::vector<uint64_t> person_of_cluster(clusters);
  for (uint32_t c = 0; c < clusters; ++c) {
    if (origins.kept[c] != nullptr) {
      person_of_cluster[c] = origins.kept[c]->previous_person;
      ids.lineage.push_back({person_of_cluster[c], LineageKind::kKept});
      ++ids.counts.kept;
    } else if (origins.split_from[c] != nullptr) {
      person_of_cluster[c] = fresh.Draw();
      ids.lineage.push_back({person_of_cluster[c], LineageKind::kSplit, origins.split_from[c]->previous_person});
      ++ids.counts.split;
    } else {
      person_of_cluster[c] = fresh.Draw();
      ids.lineage.push_back({person_of_cluster[c], LineageKind::kNew});
      ++ids.counts.new_persons;
    }
  }
  for (const Overlap& o : overlaps) {
    if (!o.successor || origins.kept[o.cluster] == &o) continue;
    ids.lineage.push_back({o.previous_person, LineageKind::kMerged, person_of_cluster[o.cluster]});
    ++ids.counts.merged;
  }
  ids.assignments.reserve(clustering.size());
  for (size_t i = 0; i < clustering.size(); ++i) {
    ids.assignments.push_back({clustering[i].participant_id, person_of_cluster[cluster_of[i]]});
  }
  return ids;
}

}  // namespace trelink
