#include "common/identity/normalise.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace trelink {
namespace {

using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

TEST(NhsNumberTest, AcceptsValidNumbersWithSpacesOrHyphens) {
  std::string out;
  EXPECT_EQ(NormaliseNhsNumber("943 476 5919", out), NhsNumberCheck::kValid);
  EXPECT_EQ(out, "9434765919");
  EXPECT_EQ(NormaliseNhsNumber("401-023-2137", out), NhsNumberCheck::kValid);
  EXPECT_EQ(out, "4010232137");
}

TEST(NhsNumberTest, RejectsWrongCheckDigitLengthLettersAndPlaceholders) {
  std::string out;
  EXPECT_EQ(NormaliseNhsNumber("9434765918", out), NhsNumberCheck::kInvalid);  // check digit off by one
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(NormaliseNhsNumber("1234567890", out), NhsNumberCheck::kInvalid);  // remainder gives 10
  EXPECT_EQ(NormaliseNhsNumber("943476591", out), NhsNumberCheck::kInvalid);   // 9 digits
  EXPECT_EQ(NormaliseNhsNumber("94347659190", out), NhsNumberCheck::kInvalid);
  EXPECT_EQ(NormaliseNhsNumber("94347A5919", out), NhsNumberCheck::kInvalid);
  EXPECT_EQ(NormaliseNhsNumber("0000000000", out), NhsNumberCheck::kInvalid);  // passes mod 11, placeholder
  EXPECT_EQ(NormaliseNhsNumber("", out), NhsNumberCheck::kMissing);
  EXPECT_EQ(NormaliseNhsNumber("   ", out), NhsNumberCheck::kMissing);
}

TEST(NhsNumberTest, CheckDigitZeroIsAccepted) {
  // 2*10 + 1*2 = 22; 22 % 11 == 0, so 11 - 0 = 11, which the rule turns into 0.
  std::string out;
  EXPECT_EQ(NormaliseNhsNumber("2000000010", out), NhsNumberCheck::kValid);
  EXPECT_EQ(NormaliseNhsNumber("2000000011", out), NhsNumberCheck::kInvalid);
}

TEST(NameTest, CaseAccentsPunctuationAndSpaces) {
  EXPECT_EQ(NormaliseName("Amelia"), "AMELIA");
  EXPECT_EQ(NormaliseName("  amelia  "), "AMELIA");
  EXPECT_EQ(NormaliseName("Amélia"), "AMELIA");
  EXPECT_EQ(NormaliseName("Zoë"), "ZOE");
  EXPECT_EQ(NormaliseName("O'Brien"), "OBRIEN");
  EXPECT_EQ(NormaliseName("O’Brien"), "OBRIEN");  // typographic apostrophe
  EXPECT_EQ(NormaliseName("Smith-Jones"), "SMITHJONES");
  EXPECT_EQ(NormaliseName("smith jones"), "SMITHJONES");
  EXPECT_EQ(NormaliseName("Müller"), "MULLER");
  EXPECT_EQ(NormaliseName("Strauß"), "STRAUSS");
  EXPECT_EQ(NormaliseName("Łukasz"), "LUKASZ");
  EXPECT_EQ(NormaliseName("Ñúñez"), "NUNEZ");
  EXPECT_EQ(NormaliseName("Siobhán Ní Bhriain"), "SIOBHANNIBHRIAIN");
}

TEST(NameTest, NonLatinScriptsAreTransliterated) {
  EXPECT_EQ(NormaliseName("Иван"), "IVAN");
  EXPECT_EQ(NormaliseName("Νίκος"), "NIKOS");
}

TEST(NameTest, LeadingTitleIsDroppedOnlyBeforeAName) {
  EXPECT_EQ(NormaliseName("Mrs Jane"), "JANE");
  EXPECT_EQ(NormaliseName("Dr. Ada"), "ADA");
  EXPECT_EQ(NormaliseName("Miss"), "MISS");  // a lone word is a name, not a title
  EXPECT_EQ(NormaliseName("Drew"), "DREW");
}

TEST(NameTest, NothingLeftIsMissing) {
  EXPECT_EQ(NormaliseName(""), "");
  EXPECT_EQ(NormaliseName(" - ' "), "");
  EXPECT_EQ(NormaliseName("123"), "");
}

TEST(NameTest, PlaceholdersForAnUnnamedNewbornAreNotNames) {
  for (const char* raw : {"Baby", "BABY BOY", "Baby of Smith", "unknown", "Twin 2", "N/K"}) {
    EXPECT_TRUE(IsPlaceholderGivenName(NormaliseName(raw))) << raw;
  }
  for (const char* raw : {"Olivia", "Babette", "Twinkle", "Nkechi"}) {
    EXPECT_FALSE(IsPlaceholderGivenName(NormaliseName(raw))) << raw;
  }
}

TEST(NameTest, NicknamesMapToFormalNames) {
  EXPECT_EQ(CanonicalGivenName("BILL"), "WILLIAM");
  EXPECT_EQ(CanonicalGivenName("BETH"), "ELIZABETH");
  EXPECT_EQ(CanonicalGivenName("LIZ"), "ELIZABETH");
  EXPECT_EQ(CanonicalGivenName("WILL"), "WILLIAM");
  EXPECT_EQ(CanonicalGivenName("ALEX"), "ALEX");  // ambiguous: left alone
  EXPECT_EQ(CanonicalGivenName("AMELIA"), "AMELIA");
}

TEST(SoundexTest, KnownCodes) {
  EXPECT_EQ(Soundex("ROBERT"), "R163");
  EXPECT_EQ(Soundex("RUPERT"), "R163");
  EXPECT_EQ(Soundex("ASHCRAFT"), "A261");
  EXPECT_EQ(Soundex("TYMCZAK"), "T522");
  EXPECT_EQ(Soundex("PFISTER"), "P236");
  EXPECT_EQ(Soundex("HONEYMAN"), "H555");
  EXPECT_EQ(Soundex("LEE"), "L000");
  EXPECT_EQ(Soundex(""), "");
}

const DateRange kRange{absl::CivilDay(1900, 1, 1), absl::CivilDay(2026, 11, 26)};

TEST(DateTest, ValidDatesBecomeCompact) {
  EXPECT_EQ(*NormaliseDate("1991-03-14", kRange), "19910314");
  EXPECT_EQ(*NormaliseDate(" 2000-02-29 ", kRange), "20000229");
  EXPECT_EQ(*NormaliseDate("2026-11-26", kRange), "20261126");  // today is allowed
  EXPECT_EQ(*NormaliseDate("", kRange), "");
}

TEST(DateTest, RejectsImpossibleFutureAndImplausibleDates) {
  EXPECT_THAT(NormaliseDate("1991-02-29", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "calendar"));
  EXPECT_THAT(NormaliseDate("1991-13-01", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "calendar"));
  EXPECT_THAT(NormaliseDate("2026-11-27", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "future"));
  EXPECT_THAT(NormaliseDate("1899-12-31", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "1900-01-01"));
  EXPECT_THAT(NormaliseDate("14/03/1991", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "ISO"));
  EXPECT_THAT(NormaliseDate("1991-3-14", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "ISO"));
  EXPECT_THAT(NormaliseDate("+991-03-14", kRange), StatusIs(absl::StatusCode::kInvalidArgument, "ISO"));
}

TEST(DateTest, ErrorsDoNotRepeatTheValue) {
  absl::StatusOr<std::string> result = NormaliseDate("2031-07-04", kRange);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(std::string(result.status().message()).find("2031"), std::string::npos);
}

TEST(SexTest, FMUInAnyCase) {
  EXPECT_EQ(*NormaliseSex("f"), "F");
  EXPECT_EQ(*NormaliseSex(" M "), "M");
  EXPECT_EQ(*NormaliseSex("U"), "");
  EXPECT_EQ(*NormaliseSex(""), "");
  EXPECT_THAT(NormaliseSex("X"), StatusIs(absl::StatusCode::kInvalidArgument, "F, M or U"));
  EXPECT_THAT(NormaliseSex("female"), StatusIs(absl::StatusCode::kInvalidArgument, "F, M or U"));
}

TEST(PostcodeTest, CanonicalFormAndDistrict) {
  auto p = NormalisePostcode("ls6 1an");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->full, "LS61AN");
  EXPECT_EQ(p->district, "LS6");
  p = NormalisePostcode("SW1A1AA");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->full, "SW1A1AA");
  EXPECT_EQ(p->district, "SW1A");
  p = NormalisePostcode("M1 1AE");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->district, "M1");
  p = NormalisePostcode("EC1A 1BB");
  EXPECT_EQ(p->district, "EC1A");
  p = NormalisePostcode("GIR 0AA");
  EXPECT_EQ(p->full, "GIR0AA");
}

TEST(PostcodeTest, OutwardCodeAloneGivesDistrictOnly) {
  auto p = NormalisePostcode("LS6");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->full, "");
  EXPECT_EQ(p->district, "LS6");
}

TEST(PostcodeTest, RejectsNonPostcodes) {
  EXPECT_THAT(NormalisePostcode("12345"), StatusIs(absl::StatusCode::kInvalidArgument, "postcode"));
  EXPECT_THAT(NormalisePostcode("LS6 1A"), StatusIs(absl::StatusCode::kInvalidArgument, "postcode"));
  EXPECT_THAT(NormalisePostcode("LS6 1ANN"), StatusIs(absl::StatusCode::kInvalidArgument, "postcode"));
  EXPECT_THAT(NormalisePostcode("6LS 1AN"), StatusIs(absl::StatusCode::kInvalidArgument, "postcode"));
  auto empty = NormalisePostcode("  ");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->district, "");
}

}  // namespace
}  // namespace trelink
