#include "common/merkle/merkle_tree.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

}  // namespace

Hash LeafHash(absl::string_view entry) {
  Hash out;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const uint8_t prefix = 0x00;
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(entry.data()), entry.size());
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  Hash out;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const uint8_t prefix = 0x01;
  crypto_hash_sha256_update(&state, &prefix, 1);
  crypto_hash_sha256_update(&state, left.data(), left.size());
  crypto_hash_sha256_update(&state, right.data(), right.size());
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Hash EmptyRoot() {
  Hash out;
  crypto_hash_sha256(out.data(), nullptr, 0);
  return out;
}

void MerkleTree::Append(const Hash& leaf_hash) {
  leaves_.push_back(leaf_hash);
  // Merge equal-sized subtrees like carries in binary addition: one merge
  // per trailing one bit of the old size.
  Hash node = leaf_hash;
  for (uint64_t size = leaves_.size() - 1; (size & 1) == 1; size >>= 1) {
    node = NodeHash(peaks_.back(), node);
    peaks_.pop_back();
  }
  peaks_.push_back(node);
}

Hash MerkleTree::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  // RFC 9162 splits at the largest power of two, so the root folds the
  // peaks from the smallest (rightmost) up.
  Hash root = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) root = NodeHash(peaks_[i], root);
  return root;
}

Hash MerkleTree::Subtree(uint64_t begin, uint64_t end) const {
  if (end - begin == 1) return leaves_[begin];
  const uint64_t k = SplitPoint(end - begin);
  return NodeHash(Subtree(begin, begin + k), Subtree(begin + k, end));
}

absl::StatusOr<Hash> MerkleTree::Root(uint64_t size) const {
  if (size > leaves_.size()) return absl::OutOfRangeError(absl::StrCat("tree size ", size, " exceeds ", leaves_.size()));
  if (size == 0) return EmptyRoot();
  return Subtree(0, size);
}

void MerkleTree::Path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>& proof) const {
  if (end - begin == 1) return;
  const uint64_t k = SplitPoint(end - begin);
  if (index < begin + k) {
    Path(index, begin, begin + k, proof);
    proof.push_back(Subtree(begin + k, end));
  } else {
    Path(index, begin + k, end, proof);
    proof.push_back(Subtree(begin, begin + k));
  }
}

absl::StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index, uint64_t size) const {
  if (size > leaves_.size() || index >= size) {
    return absl::OutOfRangeError(absl::StrCat("no leaf ", index, " in a tree of size ", size));
  }
  std::vector<Hash> proof;
  Path(index, 0, size, proof);
  return proof;
}

void MerkleTree::SubProof(uint64_t m, uint64_t begin, uint64_t end, bool complete, std::vector<Hash>& proof) const {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) proof.push_back(Subtree(begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, complete, proof);
    proof.push_back(Subtree(begin + k, end));
  } else {
    SubProof(m - k, begin + k, end, false, proof);
    proof.push_back(Subtree(begin, begin + k));
  }
}

absl::StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (new_size > leaves_.size() || old_size > new_size) {
    return absl::OutOfRangeError(absl::StrCat("no consistency proof from ", old_size, " to ", new_size));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  SubProof(old_size, 0, new_size, true, proof);
  return proof;
}

bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size, const std::vector<Hash>& proof,
                     const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  std::vector<Hash> path = proof;
  // If old_size is a power of two, the old root is the first node of the path.
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), old_root);
  if (path.empty()) return false;
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

std::string HexOf(const Hash& hash) {
  std::string out(65, '\0');
  sodium_bin2hex(out.data(), out.size(), hash.data(), hash.size());
  out.pop_back();
  return out;
}

}  // namespace trelink
