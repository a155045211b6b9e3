#include "common/linkage/person_ids.h"

#include <algorithm>
#include <numeric>
#include <tuple>
#include <utility>

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

// Participant indexes of `clustering` sorted by `less`.
template <typename Less>
std::vector<uint32_t> SortedIndexes(absl::Span<const ClusteredParticipant> clustering, Less less) {
  std::vector<uint32_t> order(clustering.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return less(clustering[a], clustering[b]); });
  return order;
}

// Numbers the clusters 0.. in order of their smallest participant id; returns
// each participant's number and sets `count`. Sorts rather than hashes: this
// runs over every participant of a project.
std::vector<uint32_t> NumberClusters(absl::Span<const ClusteredParticipant> clustering, uint32_t& count) {
  const std::vector<uint32_t> order = SortedIndexes(clustering, [](const auto& a, const auto& b) {
    return std::tie(a.cluster, a.participant_id) < std::tie(b.cluster, b.participant_id);
  });
  // Each cluster's run in `order`, starting with its smallest participant.
  std::vector<std::pair<int64_t, size_t>> runs;
  for (size_t k = 0; k < order.size(); ++k) {
    const ClusteredParticipant& p = clustering[order[k]];
    if (k == 0 || p.cluster != clustering[order[k - 1]].cluster) runs.emplace_back(p.participant_id, k);
  }
  std::sort(runs.begin(), runs.end());
  std::vector<uint32_t> numbers(clustering.size());
  for (uint32_t c = 0; c < runs.size(); ++c) {
    const uint32_t label = clustering[order[runs[c].second]].cluster;
    for (size_t k = runs[c].second; k < order.size() && clustering[order[k]].cluster == label; ++k) {
      numbers[order[k]] = c;
    }
  }
  count = static_cast<uint32_t>(runs.size());
  return numbers;
}

// A participant of the new clustering that the previous generation assigned.
struct SharedParticipant {
  uint64_t previous_person;
  uint32_t cluster;
  int64_t participant_id;
  bool operator<(const SharedParticipant& o) const {
    return std::tie(previous_person, cluster, participant_id) <
           std::tie(o.previous_person, o.cluster, o.participant_id);
  }
};

// The participants in both generations, sorted by previous person, cluster
// and participant id: both lists walked together in participant id order.
std::vector<SharedParticipant> FindSharedParticipants(absl::Span<const ClusteredParticipant> clustering,
                                                      const std::vector<uint32_t>& cluster_of,
                                                      absl::Span<const PersonAssignment> previous) {
  const std::vector<uint32_t> order = SortedIndexes(
      clustering, [](const auto& a, const auto& b) { return a.participant_id < b.participant_id; });
  std::vector<PersonAssignment> earlier(previous.begin(), previous.end());
  std::sort(earlier.begin(), earlier.end(),
            [](const auto& a, const auto& b) { return a.participant_id < b.participant_id; });
  std::vector<SharedParticipant> shared;
  for (size_t k = 0, j = 0; k < order.size(); ++k) {
    const int64_t participant = clustering[order[k]].participant_id;
    while (j < earlier.size() && earlier[j].participant_id < participant) ++j;
    if (j < earlier.size() && earlier[j].participant_id == participant) {
      shared.push_back({earlier[j].person_id, cluster_of[order[k]], participant});
    }
  }
  std::sort(shared.begin(), shared.end());
  return shared;
}

// Every (previous person, new cluster) pair sharing participants, sorted by
// previous person then cluster, with each previous person's successor marked.
std::vector<Overlap> FindOverlaps(const std::vector<SharedParticipant>& shared) {
  std::vector<Overlap> overlaps;
  for (const SharedParticipant& p : shared) {
    if (overlaps.empty() || overlaps.back().previous_person != p.previous_person ||
        overlaps.back().cluster != p.cluster) {
      overlaps.push_back({p.previous_person, p.cluster, 0, p.participant_id});
    }
    ++overlaps.back().participants;
  }
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

// Draws fresh ids: 63 bits, nonzero, neither a previous id nor drawn before.
class FreshIds {
 public:
  FreshIds(const std::function<uint64_t()>& random_id, absl::Span<const PersonAssignment> previous)
      : random_id_(random_id) {
    previous_ids_.reserve(previous.size());
    for (const PersonAssignment& a : previous) previous_ids_.push_back(a.person_id);
    std::sort(previous_ids_.begin(), previous_ids_.end());
  }

  uint64_t Draw() {
    uint64_t id;
    do {
      id = random_id_() & kIdBits;
    } while (id == 0 || std::binary_search(previous_ids_.begin(), previous_ids_.end(), id) ||
             !drawn_.insert(id).second);
    return id;
  }

 private:
  const std::function<uint64_t()>& random_id_;
  std::vector<uint64_t> previous_ids_;  // sorted
  absl::flat_hash_set<uint64_t> drawn_;
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

// Previous persons in no overlap: none of their participants is linked now.
void NoteLeft(absl::Span<const PersonAssignment> previous, const std::vector<Overlap>& overlaps, PersonIds& ids) {
  std::vector<uint64_t> continued;  // overlaps are sorted by previous person
  for (const Overlap& o : overlaps) {
    if (continued.empty() || continued.back() != o.previous_person) continued.push_back(o.previous_person);
  }
  std::vector<uint64_t> before;
  for (const PersonAssignment& a : previous) before.push_back(a.person_id);
  std::sort(before.begin(), before.end());
  before.erase(std::unique(before.begin(), before.end()), before.end());
  for (uint64_t person : before) {
    if (std::binary_search(continued.begin(), continued.end(), person)) continue;
    ids.lineage.push_back({person, LineageKind::kLeft});
    ++ids.counts.left;
  }
}

}  // namespace

PersonIds AssignPersonIds(absl::Span<const ClusteredParticipant> clustering,
                          absl::Span<const PersonAssignment> previous, const std::function<uint64_t()>& random_id) {
  uint32_t clusters = 0;
  const std::vector<uint32_t> cluster_of = NumberClusters(clustering, clusters);
  const std::vector<Overlap> overlaps = FindOverlaps(FindSharedParticipants(clustering, cluster_of, previous));
  const ClusterOrigins origins = FindOrigins(overlaps, clusters);
  FreshIds fresh(random_id, previous);

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
  NoteLeft(previous, overlaps, ids);
  ids.assignments.reserve(clustering.size());
  for (size_t i = 0; i < clustering.size(); ++i) {
    ids.assignments.push_back({clustering[i].participant_id, person_of_cluster[cluster_of[i]]});
  }
  return ids;
}

}  // namespace trelink
