#include "common/csv/csv_reader.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::StatusIs;

std::vector<std::vector<std::string>> ReadAll(const std::string& text, std::vector<size_t>* lines = nullptr) {
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  while (true) {
    auto next = reader.Next(row);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !*next) break;
    rows.push_back(row);
    if (lines != nullptr) lines->push_back(reader.row_line());
  }
  return rows;
}

TEST(CsvReaderTest, PlainQuotedAndEmptyFields) {
  auto rows = ReadAll("a,b,c\n1,\"x, y\",\n\"say \"\"hi\"\"\",,3\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x, y", ""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"say \"hi\"", "", "3"}));
}

TEST(CsvReaderTest, CrLfBomNoFinalNewlineAndEmbeddedNewlines) {
  std::vector<size_t> lines;
  auto rows = ReadAll("\xEF\xBB\xBFid,name\r\n1,\"two\nlines\"\r\n2,Zoë", &lines);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(rows[1][1], "two\nlines");
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "Zoë"}));
  EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 4}));
}

TEST(CsvReaderTest, MalformedQuotingNamesTheLineOnly) {
  std::istringstream in("a\n\"secret value\"x\n");
  CsvReader reader(in);
  std::vector<std::string> row;
  ASSERT_TRUE(*reader.Next(row));
  auto bad = reader.Next(row);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument, "line 2: text after a closing quote"));
  EXPECT_EQ(std::string(bad.status().message()).find("secret"), std::string::npos);
  std::istringstream open_quote("\"never closed\n");
  CsvReader reader2(open_quote);
  EXPECT_THAT(reader2.Next(row), StatusIs(absl::StatusCode::kInvalidArgument, "unterminated"));
}

}  // namespace
}  // namespace trelink
