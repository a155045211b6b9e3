// A fresh database on the tests' PostgreSQL server (tests/support/
// postgres_server.sh, started by the CTest fixture "postgres_server").
#pragma once

#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/store/postgres_db.h"

namespace trelink::testing {

// The libpq connection string of a new, empty database; empty (with a test
// failure) when the server is not there.
inline std::string NewPostgresDatabase() {
  std::ifstream in(TRELINK_TEST_POSTGRES_STATE);
  std::string server;
  std::getline(in, server);
  EXPECT_FALSE(server.empty()) << "no test PostgreSQL server: " << TRELINK_TEST_POSTGRES_STATE
                               << " (run through ctest, which starts it)";
  if (server.empty()) return "";
  static std::mt19937_64 rng(std::random_device{}());
  const std::string name = absl::StrCat("test_", rng() % 1000000000000ULL);
  auto admin = PgConnection::Open(server);
  EXPECT_TRUE(admin.ok()) << admin.status();
  if (!admin.ok()) return "";
  const absl::Status created = (*admin)->Exec(absl::StrCat("CREATE DATABASE ", name));
  EXPECT_TRUE(created.ok()) << created;
  if (!created.ok()) return "";
  return absl::StrCat(server.substr(0, server.rfind("dbname=")), "dbname=", name);
}

}  // namespace trelink::testing
