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

}  // namespace
}  // namespace trelink
