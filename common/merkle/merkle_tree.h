// An append-only Merkle tree in the shape of RFC 9162 (Certificate
// Transparency 2.0), section 2.1: leaf hash SHA-256(0x00 || entry), node hash
// SHA-256(0x01 || left || right), with the tree split at the largest power
// of two smaller than its size. Roots at any size, inclusion proofs and
// consistency proofs, and their verification.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trelink {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(absl::string_view entry);
Hash NodeHash(const Hash& left, const Hash& right);
// The root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

class MerkleTree {
 public:
  // Appends a leaf; keeps the roots of the perfect subtrees the tree splits
  // into, so the current root costs O(log n) rather than a full rehash.
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return leaves_.size(); }
  const Hash& leaf(uint64_t index) const { return leaves_[index]; }

  // Root of the first `size` leaves (RFC 9162 MTH).
  absl::StatusOr<Hash> Root(uint64_t size) const;
  // Root of the whole tree, from the perfect-subtree roots.
  Hash Root() const;
  // Audit path of leaf `index` in the tree of the first `size` leaves.
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  // Consistency proof between the trees of the first `old_size` and
  // `new_size` leaves.
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

 private:
  Hash Subtree(uint64_t begin, uint64_t end) const;
  void Path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>& proof) const;
  void SubProof(uint64_t m, uint64_t begin, uint64_t end, bool complete, std::vector<Hash>& proof) const;
  std::vector<Hash> leaves_;
  // Roots of the perfect subtrees covering the leaves, largest first (one per
  // set bit of size()).
  std::vector<Hash> peaks_;
};

// RFC 9162 section 2.1.3.2.
bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size, const std::vector<Hash>& proof,
                     const Hash& root);
// RFC 9162 section 2.1.4.2.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof);

std::string HexOf(const Hash& hash);

}  // namespace trelink
