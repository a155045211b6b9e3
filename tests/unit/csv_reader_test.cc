#include "common/csv/csv_reader.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/csv/cell_text.h"
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

TEST(CellTextTest, OnlyWellFormedUtf8WithoutNulMayLeave) {
  for (const char* good : {"", "O'Brien", "Zo\xC3\xAB", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
  }
  for (const char* bad : {"Am\xE9lia",           // Latin-1, the usual culprit
                          "\xC3",                // cut short
                          "\x80",                // a lone continuation byte
                          "\xC0\xAF",            // overlong '/'
                          "\xE0\x80\xAF",        // overlong, three bytes
                          "\xED\xA0\x80",        // a surrogate
                          "\xF4\x90\x80\x80",    // above U+10FFFF
                          "\xE2\x82" "A"}) {     // continuation missing
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
  EXPECT_THAT(ValidateCellText("Am\xE9lia"), StatusIs(absl::StatusCode::kInvalidArgument, "not valid UTF-8"));
  EXPECT_THAT(ValidateCellText(std::string("O'Br\0ien", 8)),
              StatusIs(absl::StatusCode::kInvalidArgument, "contains a NUL byte"));
  EXPECT_TRUE(ValidateCellText("Zo\xC3\xAB").ok());
}

}  // namespace
}  // namespace trelink
