#include "common/crypto/sealed_batch.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::NewLinkerKeys;
using ::trelink::testing::StatusIs;

trelink::v1::SealedMatchKeys SampleKeys(uint32_t records = 2) {
  trelink::v1::SealedMatchKeys keys;
  keys.set_project("demo");
  keys.set_dataset("maternity");
  keys.set_batch_id("maternity-000000000");
  keys.set_record_count(records);
  keys.set_key_version(1);
  keys.add_key_names("nhs");
  keys.add_key_kinds(trelink::v1::KeySpec::MATCH_KEY);
  for (uint32_t r = 0; r < records; ++r) {
    auto* p = keys.add_records()->add_participants();
    p->set_role("mother");
    p->add_values(std::string(32, static_cast<char>('a' + r)));
  }
  return keys;
}

BatchBinding Binding(uint32_t records = 2) { return {"demo", "maternity", "maternity-000000000", records}; }

TEST(SealedBatchTest, OpensWithTheLinkerKeyAndMatchingBinding) {
  LinkerKeyPair linker = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(SampleKeys(), linker.public_key()));
  TRELINK_ASSERT_OK_AND_ASSIGN(trelink::v1::SealedMatchKeys opened, OpenSealedBatch(blob, linker, Binding()));
  EXPECT_EQ(opened.SerializeAsString(), SampleKeys().SerializeAsString());
}

TEST(SealedBatchTest, SameKeysSealTwiceGiveUnrelatedBlobs) {
  LinkerKeyPair linker = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string a, SealMatchKeys(SampleKeys(), linker.public_key()));
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string b, SealMatchKeys(SampleKeys(), linker.public_key()));
  EXPECT_NE(a, b);  // a relaying provider cannot compare batches
}

TEST(SealedBatchTest, WrongKeyIsRejected) {
  LinkerKeyPair linker = NewLinkerKeys();
  LinkerKeyPair other = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(SampleKeys(), linker.public_key()));
  EXPECT_THAT(OpenSealedBatch(blob, other, Binding()),
              StatusIs(absl::StatusCode::kInvalidArgument, "cannot be opened with this linker's key"));
}

TEST(SealedBatchTest, TruncatedBlobsAreRejected) {
  LinkerKeyPair linker = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(SampleKeys(), linker.public_key()));
  for (size_t length : {size_t{0}, size_t{4}, size_t{40}, blob.size() - 1}) {
    EXPECT_THAT(OpenSealedBatch(blob.substr(0, length), linker, Binding()),
                StatusIs(absl::StatusCode::kInvalidArgument, "batch maternity-000000000: sealed blob rejected"))
        << length;
  }
}

TEST(SealedBatchTest, EveryFlippedByteIsRejected) {
  LinkerKeyPair linker = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(SampleKeys(), linker.public_key()));
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string tampered = blob;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(OpenSealedBatch(tampered, linker, Binding()).ok()) << "byte " << i;
  }
}

TEST(SealedBatchTest, WrongBindingIsRejected) {
  LinkerKeyPair linker = NewLinkerKeys();
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(SampleKeys(), linker.public_key()));
  BatchBinding b = Binding();
  b.project = "other";
  EXPECT_THAT(OpenSealedBatch(blob, linker, b), StatusIs(absl::StatusCode::kInvalidArgument, "another project"));
  b = Binding();
  b.dataset = "court";
  EXPECT_THAT(OpenSealedBatch(blob, linker, b), StatusIs(absl::StatusCode::kInvalidArgument, "another dataset"));
  b = Binding();
  b.batch_id = "maternity-000002000";
  EXPECT_THAT(OpenSealedBatch(blob, linker, b), StatusIs(absl::StatusCode::kInvalidArgument, "another batch id"));
  b = Binding(3);
  EXPECT_THAT(OpenSealedBatch(blob, linker, b), StatusIs(absl::StatusCode::kInvalidArgument, "batch has 3"));
}

TEST(SealedBatchTest, SealedPlaintextMustBeConsistent) {
  LinkerKeyPair linker = NewLinkerKeys();
  trelink::v1::SealedMatchKeys keys = SampleKeys();
  keys.set_record_count(5);  // claims more records than it holds
  TRELINK_ASSERT_OK_AND_ASSIGN(std::string blob, SealMatchKeys(keys, linker.public_key()));
  EXPECT_THAT(OpenSealedBatch(blob, linker, Binding(5)),
              StatusIs(absl::StatusCode::kInvalidArgument, "does not match the sealed records"));
}

TEST(SealedBatchTest, GarbageIsRejected) {
  LinkerKeyPair linker = NewLinkerKeys();
  EXPECT_THAT(OpenSealedBatch(std::string(200, 'x'), linker, Binding()),
              StatusIs(absl::StatusCode::kInvalidArgument, "not a trelink sealed batch"));
}

}  // namespace
}  // namespace trelink
