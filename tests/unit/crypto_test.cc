#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>

#include "common/crypto/keyed_hash.h"
#include "common/crypto/linker_keys.h"
#include "common/crypto/master_keyset.h"
#include "common/crypto/secret_file.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::MakeTempDir;
using ::trelink::testing::NewKeyset;
using ::trelink::testing::StatusIs;

std::string HashHex(const ProjectKey& key, absl::string_view domain, std::vector<absl::string_view> fields,
                    KeyedHasher::Kind kind = KeyedHasher::Kind::kMatchKey) {
  KeyedHasher hasher(key, domain, kind);
  std::string out(hasher.out_len(), '\0');
  hasher.Hash(fields, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

TEST(MasterKeysetTest, SaveCreatesOwnerOnlyFileAndLoadRoundTrips) {
  const std::string path = MakeTempDir() + "/master.keyset";
  MasterKeyset keyset = NewKeyset();
  ASSERT_THAT(keyset.Save(path, false), IsOk());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  TRELINK_ASSERT_OK_AND_ASSIGN(MasterKeyset loaded, MasterKeyset::Load(path));
  EXPECT_EQ(loaded.primary_version(), 1u);
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey a, keyset.DeriveProjectKey("demo", 1));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey b, loaded.DeriveProjectKey("demo", 1));
  EXPECT_TRUE(a.key.Equals(b.key));
}

TEST(MasterKeysetTest, RefusesToOverwrite) {
  const std::string path = MakeTempDir() + "/master.keyset";
  ASSERT_THAT(NewKeyset().Save(path, false), IsOk());
  EXPECT_THAT(NewKeyset().Save(path, false), StatusIs(absl::StatusCode::kAlreadyExists, "cannot create"));
}

TEST(MasterKeysetTest, GroupOrWorldReadableFileIsRefusedWithClearMessage) {
  const std::string path = MakeTempDir() + "/master.keyset";
  ASSERT_THAT(NewKeyset().Save(path, false), IsOk());
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    EXPECT_THAT(MasterKeyset::Load(path), StatusIs(absl::StatusCode::kFailedPrecondition, "chmod 600"))
        << std::oct << mode;
  }
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  EXPECT_THAT(MasterKeyset::Load(path), IsOk());
}

TEST(MasterKeysetTest, RotationAddsPrimaryVersionAndKeepsOldKeys) {
  MasterKeyset keyset = NewKeyset();
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey v1_before, keyset.DeriveProjectKey("demo", 1));
  ASSERT_THAT(keyset.Rotate(), IsOk());
  EXPECT_EQ(keyset.primary_version(), 2u);
  EXPECT_EQ(keyset.versions(), (std::vector<uint32_t>{1, 2}));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey v1_after, keyset.DeriveProjectKey("demo", 1));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey v2, keyset.DeriveProjectKey("demo", 2));
  EXPECT_TRUE(v1_before.key.Equals(v1_after.key));
  EXPECT_FALSE(v1_after.key.Equals(v2.key));
  EXPECT_EQ(v2.version, 2u);
  EXPECT_THAT(keyset.DeriveProjectKey("demo", 3), StatusIs(absl::StatusCode::kNotFound, "version 3"));

  const std::string path = MakeTempDir() + "/master.keyset";
  ASSERT_THAT(keyset.Save(path, false), IsOk());
  TRELINK_ASSERT_OK_AND_ASSIGN(MasterKeyset loaded, MasterKeyset::Load(path));
  EXPECT_EQ(loaded.primary_version(), 2u);
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey v1_loaded, loaded.DeriveProjectKey("demo", 1));
  EXPECT_TRUE(v1_loaded.key.Equals(v1_before.key));
}

TEST(MasterKeysetTest, ProjectsGetDifferentKeys) {
  MasterKeyset keyset = NewKeyset();
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey a, keyset.DeriveProjectKey("study-a", 1));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey b, keyset.DeriveProjectKey("study-b", 1));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey a_again, keyset.DeriveProjectKey("study-a", 1));
  EXPECT_FALSE(a.key.Equals(b.key));
  EXPECT_TRUE(a.key.Equals(a_again.key));
  EXPECT_THAT(keyset.DeriveProjectKey("", 1), StatusIs(absl::StatusCode::kInvalidArgument, "project"));
}

SecretBytes Text(const std::string& s) {
  absl::StatusOr<SecretBytes> b = SecretBytes::Allocate(s.size());
  memcpy(b->data(InsecureSecretAccess()), s.data(), s.size());
  return *std::move(b);
}

TEST(MasterKeysetTest, ParseRejectsMalformedFilesWithoutEchoingKeys) {
  const std::string hex(64, 'a');
  EXPECT_THAT(MasterKeyset::Parse(Text("nonsense\n"), "f"), StatusIs(absl::StatusCode::kInvalidArgument, "not a trelink master keyset"));
  EXPECT_THAT(MasterKeyset::Parse(Text("trelink-master-keyset 1\n"), "f"), StatusIs(absl::StatusCode::kInvalidArgument, "no keys"));
  EXPECT_THAT(MasterKeyset::Parse(Text("trelink-master-keyset 1\nkey 1 " + hex + "\n"), "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, "no primary"));
  EXPECT_THAT(MasterKeyset::Parse(Text("trelink-master-keyset 1\nkey 1 primary " + hex + "\nkey 1 " + hex + "\n"), "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, "duplicate version"));
  absl::StatusOr<MasterKeyset> short_key =
      MasterKeyset::Parse(Text("trelink-master-keyset 1\nkey 1 primary abcdef0123\n"), "f");
  EXPECT_THAT(short_key, StatusIs(absl::StatusCode::kInvalidArgument, "64 hexadecimal digits"));
  EXPECT_EQ(short_key.status().ToString().find("abcdef0123"), std::string::npos);
  EXPECT_THAT(MasterKeyset::Parse(Text("# comment\ntrelink-master-keyset 1\nkey 7 primary " + hex + "\n"), "f"), IsOk());
}

TEST(KeyedHashTest, DeterministicAndKeyed) {
  MasterKeyset keyset = NewKeyset();
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey key, keyset.DeriveProjectKey("demo", 1));
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey other, NewKeyset().DeriveProjectKey("demo", 1));
  EXPECT_EQ(HashHex(key, "nhs", {"9434765919"}), HashHex(key, "nhs", {"9434765919"}));
  EXPECT_NE(HashHex(key, "nhs", {"9434765919"}), HashHex(other, "nhs", {"9434765919"}));
  EXPECT_NE(HashHex(key, "nhs", {"9434765919"}), HashHex(key, "nhs", {"4010232137"}));
}

TEST(KeyedHashTest, DomainSeparationAndLengthPrefixing) {
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey key, NewKeyset().DeriveProjectKey("demo", 1));
  // Two key kinds over the same input.
  EXPECT_NE(HashHex(key, "t.family_name", {"SMITH"}), HashHex(key, "t.given_name", {"SMITH"}));
  // Field lists that concatenate to the same bytes.
  EXPECT_NE(HashHex(key, "k", {"AB", "C"}), HashHex(key, "k", {"A", "BC"}));
  EXPECT_NE(HashHex(key, "k", {"ABC"}), HashHex(key, "k", {"AB", "C"}));
  // Domain and first field cannot slide into each other.
  EXPECT_NE(HashHex(key, "ab", {"c"}), HashHex(key, "a", {"bc"}));
  // A token is not a truncated match key.
  const auto token = KeyedHasher::Kind::kFieldToken;
  EXPECT_NE(HashHex(key, "k", {"X"}).substr(0, 16), HashHex(key, "k", {"X"}, token));
  // The same separation holds for tokens.
  EXPECT_NE(HashHex(key, "t.family_name", {"SMITH"}, token), HashHex(key, "t.given_name", {"SMITH"}, token));
  EXPECT_NE(HashHex(key, "k", {"AB", "C"}, token), HashHex(key, "k", {"A", "BC"}, token));
  EXPECT_EQ(HashHex(key, "k", {"SMITH"}, token), HashHex(key, "k", {"SMITH"}, token));
}

TEST(KeyedHashTest, MatchesAStraightBlake2bComputation) {
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey key, NewKeyset().DeriveProjectKey("demo", 1));
  std::string message("trelink.v1.key\0nhs\0", 19);
  message += std::string("\x0a\x00\x00\x00", 4) + "9434765919";
  std::string expected(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(expected.data()), 32, reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), key.key.data(InsecureSecretAccess()), key.key.size());
  EXPECT_EQ(HashHex(key, "nhs", {"9434765919"}), expected);
}

TEST(KeyedHashTest, TokensMatchAStraightSipHashComputation) {
  TRELINK_ASSERT_OK_AND_ASSIGN(ProjectKey key, NewKeyset().DeriveProjectKey("demo", 1));
  uint8_t token_key[16];
  const std::string tag("trelink.v1.token-key\0t.dob\0", 27);
  crypto_generichash(token_key, sizeof token_key, reinterpret_cast<const uint8_t*>(tag.data()), tag.size(),
                     key.key.data(InsecureSecretAccess()), key.key.size());
  const std::string message = std::string("\x08\x00\x00\x00", 4) + "19910314";
  std::string expected(16, '\0');
  crypto_shorthash_siphashx24(reinterpret_cast<uint8_t*>(expected.data()),
                              reinterpret_cast<const uint8_t*>(message.data()), message.size(), token_key);
  EXPECT_EQ(HashHex(key, "t.dob", {"19910314"}, KeyedHasher::Kind::kFieldToken), expected);
}

TEST(LinkerKeysTest, KeyPairRoundTripsAndFingerprintIsStable) {
  const std::string dir = MakeTempDir();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkerKeyPair pair, LinkerKeyPair::Generate());
  ASSERT_THAT(pair.Save(dir + "/linker.keypair"), IsOk());
  ASSERT_THAT(pair.public_key().Save(dir + "/linker.pub"), IsOk());
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkerKeyPair loaded, LinkerKeyPair::Load(dir + "/linker.keypair"));
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkerPublicKey pub, LinkerPublicKey::Load(dir + "/linker.pub"));
  EXPECT_EQ(loaded.public_key().bytes(), pair.public_key().bytes());
  EXPECT_EQ(pub.Fingerprint(), pair.public_key().Fingerprint());
  EXPECT_EQ(pub.Fingerprint().size(), 32u);
  EXPECT_TRUE(loaded.secret_key().Equals(pair.secret_key()));
  ASSERT_EQ(chmod((dir + "/linker.keypair").c_str(), 0644), 0);
  EXPECT_THAT(LinkerKeyPair::Load(dir + "/linker.keypair"), StatusIs(absl::StatusCode::kFailedPrecondition, "mode 0644"));
}

TEST(LinkerKeysTest, MismatchedPublicKeyIsRejected) {
  const std::string dir = MakeTempDir();
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkerKeyPair a, LinkerKeyPair::Generate());
  TRELINK_ASSERT_OK_AND_ASSIGN(LinkerKeyPair b, LinkerKeyPair::Generate());
  ASSERT_THAT(a.Save(dir + "/a"), IsOk());
  // Splice b's public key into a's file.
  std::ifstream in(dir + "/a");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find("public ") + 7;
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, b.public_key().bytes().data(), 32);
  text.replace(at, 64, hex);
  const std::string spliced = dir + "/spliced";
  {
    std::ofstream out(spliced);
    out << text;
  }
  chmod(spliced.c_str(), 0600);
  EXPECT_THAT(LinkerKeyPair::Load(spliced), StatusIs(absl::StatusCode::kInvalidArgument, "does not match"));
}

}  // namespace
}  // namespace trelink
