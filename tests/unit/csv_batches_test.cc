// The CLI's CSV batching with an injected clock: which rows it leaves out
// depends on the reader's "today", never on the calendar the test runs on.
#include "services/cli/csv_batches.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;

constexpr char kHeader[] =
    "record_id,mother_nhs_number,mother_given_name,mother_family_name,mother_dob,mother_postcode,"
    "baby_given_name,baby_dob,baby_sex,event,event_date,region";

Catalogue DefaultCatalogue() {
  auto catalogue = Catalogue::Load(std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto");
  EXPECT_THAT(catalogue, IsOk());
  return *std::move(catalogue);
}

// Reads a maternity CSV of bookings on `event_dates` with "today" fixed at
// `today`; returns the reasons of the rows left out, by line.
std::vector<RejectedRow> LeftOut(absl::CivilDay today, const std::vector<std::string>& event_dates) {
  const std::string path = ::trelink::testing::MakeTempDir() + "/maternity.csv";
  std::ofstream csv(path, std::ios::binary);
  csv << kHeader << "\n";
  for (size_t i = 0; i < event_dates.size(); ++i) {
    csv << "M" << i << ",943 476 5919,Amelia,O'Brien,1991-03-14,LS6 1AN,,,,booking," << event_dates[i]
        << ",E12000003\n";
  }
  csv.close();
  const Catalogue catalogue = DefaultCatalogue();
  const FixedClock clock(absl::FromCivil(today, absl::UTCTimeZone()));
  auto reader = CsvBatchReader::Open(path, catalogue, "demo", "maternity", 100, clock);
  EXPECT_THAT(reader, IsOk());
  if (!reader.ok()) return {};
  CsvBatch batch;
  while (true) {
    absl::StatusOr<bool> next = (*reader)->Next(batch);
    EXPECT_THAT(next, IsOk());
    if (!next.ok() || !*next) break;
  }
  return (*reader)->rejected();
}

// The catalogue accepts events up to 2030-12-31; with the system clock a
// date two days on was refused for the wrong reason from 2030-12-30.
TEST(CsvBatchReaderTest, AnEventAfterTheClocksTodayIsLeftOut) {
  for (const absl::CivilDay today : {absl::CivilDay(2026, 11, 26), absl::CivilDay(2012, 2, 29)}) {
    const std::vector<RejectedRow> rejected =
        LeftOut(today, {absl::FormatCivilTime(today), absl::FormatCivilTime(today + 1),
                        absl::FormatCivilTime(today - 365)});
    ASSERT_EQ(rejected.size(), 1u) << today;
    EXPECT_EQ(rejected[0].line, 3u);
    EXPECT_NE(rejected[0].reason.find("event_date: after today"), std::string::npos) << rejected[0].reason;
  }
}

// Writes a maternity CSV of `rows` bookings (record ids M0, M1, ...).
std::string WriteBookings(const std::string& dir, int rows, const std::string& family = "O'Brien") {
  const std::string path = dir + "/maternity.csv";
  std::ofstream csv(path, std::ios::binary | std::ios::trunc);
  csv << kHeader << "\n";
  for (int i = 0; i < rows; ++i) {
    csv << "M" << i << ",943 476 5919,Amelia," << family << ",1991-03-14,LS6 1AN,,,,booking,2020-01-0" << 1 + i % 9
        << ",E12000003\n";
  }
  return path;
}

// The batch ids and record ids one read of `path` sends.
std::pair<std::vector<std::string>, std::vector<std::string>> Sent(const std::string& path, const std::string& extract) {
  const Catalogue catalogue = DefaultCatalogue();
  const FixedClock clock(absl::FromCivil(absl::CivilDay(2026, 11, 26), absl::UTCTimeZone()));
  auto reader = CsvBatchReader::Open(path, catalogue, "demo", "maternity", 2, clock, extract);
  EXPECT_THAT(reader, IsOk());
  std::pair<std::vector<std::string>, std::vector<std::string>> sent;
  if (!reader.ok()) return sent;
  CsvBatch batch;
  while (*(*reader)->Next(batch)) {
    sent.first.push_back(batch.identifiers.batch_id());
    for (const auto& record : batch.identifiers.records()) sent.second.push_back(record.record_id());
  }
  return sent;
}

TEST(CsvBatchReaderTest, BatchIdsNameTheExtractAndRecordsCarryTheirRecordId) {
  const std::string path = WriteBookings(::trelink::testing::MakeTempDir(), 3);
  const auto [batches, records] = Sent(path, "2026-11");
  EXPECT_EQ(batches, (std::vector<std::string>{"maternity:2026-11:000000000", "maternity:2026-11:000000002"}));
  EXPECT_EQ(records, (std::vector<std::string>{"M0", "M1", "M2"}));
  EXPECT_EQ(Sent(path, "2026-12").first.front(), "maternity:2026-12:000000000");
}

// With no extract name, the same file sends the same ids again (a re-run is
// a no-op at the linker) and a file with other content never reuses them.
TEST(CsvBatchReaderTest, WithoutAnExtractNameTheFilesDigestNamesIt) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  const std::string path = WriteBookings(dir, 3);
  const std::vector<std::string> first = Sent(path, "").first;
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].rfind("maternity:sha256-", 0), 0u) << first[0];
  EXPECT_EQ(first[0].size(), std::string("maternity:sha256-").size() + 16 + 10);
  EXPECT_EQ(Sent(path, "").first, first);
  WriteBookings(dir, 3, "OBrien");
  EXPECT_NE(Sent(path, "").first[0], first[0]);
}

TEST(CsvBatchReaderTest, AnExtractNameOutsideTheAlphabetIsRefused) {
  const std::string path = WriteBookings(::trelink::testing::MakeTempDir(), 1);
  const Catalogue catalogue = DefaultCatalogue();
  for (const std::string& bad : std::vector<std::string>{"2026/11", "a:b", std::string(41, 'x')}) {
    EXPECT_THAT(CsvBatchReader::Open(path, catalogue, "demo", "maternity", 2, Clock::System(), bad),
                ::trelink::testing::StatusIs(absl::StatusCode::kInvalidArgument, "--extract"))
        << bad;
  }
}

}  // namespace
}  // namespace trelink
