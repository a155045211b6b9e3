#include "common/merkle/merkle_tree.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

// The RFC 6962 / 9162 reference definition, computed directly.
Hash ReferenceRoot(const std::vector<std::string>& entries, size_t begin, size_t end) {
  if (end - begin == 1) return LeafHash(entries[begin]);
  size_t k = 1;
  while (k << 1 < end - begin) k <<= 1;
  return NodeHash(ReferenceRoot(entries, begin, begin + k), ReferenceRoot(entries, begin + k, end));
}

TEST(MerkleTreeTest, KnownVectors) {
  // SHA-256 of the empty string, and the leaf hash of the empty entry
  // (SHA-256 of a single 0x00 byte), as published for RFC 6962 trees.
  EXPECT_EQ(HexOf(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf(LeafHash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  MerkleTree tree;
  EXPECT_EQ(tree.Root(), EmptyRoot());
}

TEST(MerkleTreeTest, RootsProofsAndConsistencyMatchBruteForceForEverySizeTo300) {
  std::vector<std::string> entries;
  MerkleTree tree;
  std::vector<Hash> roots = {EmptyRoot()};
  for (int n = 1; n <= 300; ++n) {
    entries.push_back(absl::StrCat("entry-", n));
    tree.Append(LeafHash(entries.back()));
    const Hash root = tree.Root();
    ASSERT_EQ(root, ReferenceRoot(entries, 0, entries.size())) << n;
    roots.push_back(root);
  }
  for (uint64_t size = 1; size <= 300; size += (size < 40 ? 1 : 13)) {
    for (uint64_t index = 0; index < size; ++index) {
      auto proof = tree.InclusionProof(index, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(tree.leaf(index), index, size, *proof, roots[size])) << index << "/" << size;
      // A proof for another leaf, index or root fails.
      EXPECT_FALSE(VerifyInclusion(LeafHash("forged"), index, size, *proof, roots[size]));
      if (size > 1) {
        EXPECT_FALSE(VerifyInclusion(tree.leaf(index), (index + 1) % size, size, *proof, roots[size]));
      }
    }
    for (uint64_t old_size = 0; old_size <= size; ++old_size) {
      auto proof = tree.ConsistencyProof(old_size, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(old_size, size, roots[old_size], roots[size], *proof)) << old_size << "->" << size;
      if (old_size > 0 && old_size < size) {
        Hash wrong = roots[old_size];
        wrong[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(old_size, size, wrong, roots[size], *proof));
        EXPECT_FALSE(VerifyConsistency(old_size, size, roots[old_size], wrong, *proof));
      }
    }
  }
  EXPECT_FALSE(tree.InclusionProof(300, 300).ok());
  EXPECT_FALSE(tree.ConsistencyProof(5, 301).ok());
}

}  // namespace
}  // namespace trelink
