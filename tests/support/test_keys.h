// Keys for tests: made fresh in memory or in a temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto/linker_keys.h"
#include "common/crypto/master_keyset.h"

namespace trelink::testing {

// A fresh directory under TEST_TMPDIR or /tmp, removed by the caller's
// environment (CTest runs each test in the build tree).
inline std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/trelink-test-XXXXXX");
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

inline MasterKeyset NewKeyset() {
  absl::StatusOr<MasterKeyset> keyset = MasterKeyset::Generate();
  EXPECT_TRUE(keyset.ok());
  return *std::move(keyset);
}

inline LinkerKeyPair NewLinkerKeys() {
  absl::StatusOr<LinkerKeyPair> pair = LinkerKeyPair::Generate();
  EXPECT_TRUE(pair.ok());
  return *std::move(pair);
}

}  // namespace trelink::testing
