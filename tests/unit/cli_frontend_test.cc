// trelink-cli's command line, validation and output formats, without a
// server: what is refused before any call, and what JSON and CSV look like.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cli/cli_options.h"
#include "services/cli/output.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::trelink::testing::IsOk;
using ::trelink::testing::StatusIs;

const std::string kCatalogue = std::string(TRELINK_SOURCE_DIR) + "/deploy/config/catalogue.textproto";
const std::string kQuery = std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q1_maternal_deaths_social_care.textproto";

ParsedCommandLine Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "trelink-cli");
  return ParseCliArguments(args);
}

std::vector<std::string> Tls(const std::string& cert, const std::string& key) {
  const std::string dir = testing::CertDir();
  return {"--ca", dir + "/ca.pem", "--cert", dir + "/" + cert + ".pem", "--key", dir + "/" + key + ".key"};
}

std::vector<std::string> Plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(CliHelpTest, EachCommandListsItsOwnFlagsAndAnExample) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"ingest", {"--pseudonymiser", "--linker", "--catalogue", "--dataset", "--csv", "--extract", "--strict",
                  "--allow-rejected", "--batch_size", "--format"}},
      {"withdraw", {"--pseudonymiser", "--linker", "--dataset", "--csv"}},
      {"opt-out", {"--list_version", "--csv", "--allow-rejected"}},
      {"pseudonymise", {"--out", "--catalogue"}},
      {"link", {"--linker", "--project", "--full", "--format"}},
      {"report", {"--linker", "--format", "--html"}},
      {"query", {"--aggregator", "--query", "--truth", "--format", "--html"}},
      {"catalogue", {"--aggregator", "--project", "--format"}},
      {"key-info", {"--pseudonymiser", "--format"}},
      {"health", {"--server", "--timeout"}},
  };
  for (const auto& [command, flags] : commands) {
    ParsedCommandLine parsed = Parse({command, "--help"});
    EXPECT_FALSE(parsed.options.has_value());
    EXPECT_EQ(parsed.exit_code, kExitOk);
    for (const std::string& flag : Plus(flags, {"--ca", "--cert", "--key"})) {
      EXPECT_THAT(parsed.out, HasSubstr(flag)) << command;
    }
    EXPECT_THAT(parsed.out, HasSubstr("Example:\n  trelink-cli " + command)) << parsed.out;
  }
  // Flags of other commands are not listed.
  EXPECT_THAT(Parse({"link", "--help"}).out, Not(HasSubstr("--csv")));
  EXPECT_THAT(Parse({"query", "--help"}).out, Not(HasSubstr("--linker")));
}

TEST(CliHelpTest, TopLevelHelpListsCommandsAndExitCodes) {
  ParsedCommandLine parsed = Parse({"--help"});
  EXPECT_EQ(parsed.exit_code, kExitOk);
  for (const char* command : {"ingest", "withdraw", "opt-out", "pseudonymise", "link", "report", "query", "catalogue",
                              "key-info", "health"}) {
    EXPECT_THAT(parsed.out, HasSubstr(command));
  }
  EXPECT_THAT(parsed.out, HasSubstr("3  done, but rows were left out"));
  EXPECT_THAT(parsed.out, HasSubstr("2  usage error"));
  // No command at all: the help, on stderr, as a usage error.
  parsed = Parse({});
  EXPECT_EQ(parsed.exit_code, kExitUsage);
  EXPECT_THAT(parsed.err, HasSubstr("Subcommands:"));
}

TEST(CliParseTest, AFlagOfAnotherCommandOrAMissingOneIsAUsageError) {
  ParsedCommandLine parsed =
      Parse({"link", "--linker", "127.0.0.1:1", "--project", "demo", "--csv", "x.csv", "--ca", "ca.pem"});
  EXPECT_EQ(parsed.exit_code, kExitUsage);
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_THAT(parsed.err, HasSubstr("--csv"));
  EXPECT_THAT(parsed.err, HasSubstr("trelink-cli link --help"));

  parsed = Parse({"query", "--query", "q.textproto", "--ca", "ca.pem"});
  EXPECT_EQ(parsed.exit_code, kExitUsage);
  EXPECT_THAT(parsed.err, HasSubstr("--aggregator is required"));

  parsed = Parse({"frobnicate"});
  EXPECT_EQ(parsed.exit_code, kExitUsage);
}

TEST(CliParseTest, BothFlagFormsAreTaken) {
  ParsedCommandLine parsed = Parse({"opt-out", "--pseudonymiser=127.0.0.1:7001", "--linker", "127.0.0.1:7002",
                                    "--project=demo", "--csv", "o.csv", "--list_version=2026-11", "--batch_size", "7",
                                    "--ca", "ca.pem", "--format=json"});
  ASSERT_TRUE(parsed.options.has_value()) << parsed.err;
  const CliOptions& o = *parsed.options;
  EXPECT_EQ(o.command, "opt-out");
  EXPECT_EQ(o.pseudonymiser, "127.0.0.1:7001");
  EXPECT_EQ(o.linker, "127.0.0.1:7002");
  EXPECT_EQ(o.project, "demo");
  EXPECT_EQ(o.list_version, "2026-11");
  EXPECT_EQ(o.batch_size, 7);
  EXPECT_EQ(o.format, "json");
  EXPECT_EQ(o.timeout, 600);
}

// Validation, which runs before any call: a query that went out would be
// logged and count towards the release history.
class CliValidateTest : public ::testing::Test {
 protected:
  CliOptions Query(const std::vector<std::string>& extra, const std::string& cert = "analyst",
                   const std::string& key = "analyst") {
    ParsedCommandLine parsed =
        Parse(Plus(Plus({"query", "--aggregator", "127.0.0.1:9", "--query", kQuery}, Tls(cert, key)), extra));
    EXPECT_TRUE(parsed.options.has_value()) << parsed.err;
    return parsed.options.value_or(CliOptions());
  }
};

TEST_F(CliValidateTest, AcceptsAGoodCommandLine) {
  CliOptions o = Query({"--format", "csv"});
  EXPECT_THAT(ValidateCliOptions(o), IsOk());
  EXPECT_EQ(o.output_format, OutputFormat::kCsv);
}

TEST_F(CliValidateTest, RefusesAnUnknownFormat) {
  CliOptions o = Query({"--format", "xml"});
  EXPECT_THAT(ValidateCliOptions(o),
              StatusIs(absl::StatusCode::kInvalidArgument, "--format: \"xml\" is not text, csv or json"));
}

TEST_F(CliValidateTest, RefusesMissingFilesBadAddressesAndNumbers) {
  CliOptions o = Query({});
  o.query = "/nonexistent/q.textproto";
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                              "--query /nonexistent/q.textproto: No such file or directory"));
  o = Query({});
  o.aggregator = "localhost";
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument, "--aggregator localhost: not HOST:PORT"));
  o = Query({"--timeout", "0"});
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument, "--timeout"));
  o = Query({});
  o.truth = kCatalogue;
  o.format = "json";
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument, "--truth"));
  o = Query({});
  o.extract = "2026/11";
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument, "--extract"));
}

TEST_F(CliValidateTest, RefusesAKeyThatIsNotTheCertificates) {
  CliOptions o = Query({}, "analyst", "auditor");
  EXPECT_THAT(ValidateCliOptions(o),
              StatusIs(absl::StatusCode::kInvalidArgument, "auditor.key does not belong to --cert"));
  o = Query({});
  o.key.clear();
  EXPECT_THAT(ValidateCliOptions(o),
              StatusIs(absl::StatusCode::kInvalidArgument, "--cert and --key go together"));
  o = Query({});
  o.ca = kCatalogue;  // readable, not a certificate
  EXPECT_THAT(ValidateCliOptions(o), StatusIs(absl::StatusCode::kInvalidArgument, "not a PEM certificate"));
}

trelink::v1::CountTable SampleTable() {
  trelink::v1::CountTable table;
  table.set_query_name("births, by region");
  table.add_dimensions("region");
  table.set_policy_version("test-1");
  table.set_generation(12);
  table.set_log_index(7);
  auto* released = table.add_cells();
  released->add_values("North, \"East\"");
  released->set_count(25);
  released->set_status(trelink::v1::ROUNDED);
  auto* withheld = table.add_cells();
  withheld->add_values("London");
  withheld->set_status(trelink::v1::SUPPRESSED);
  return table;
}

TEST(CliOutputTest, JsonNumbersAreNumbersAndWithheldCellsNull) {
  const std::string json = ToJson(FromMessage(SampleTable()));
  EXPECT_THAT(json, HasSubstr("\"generation\":12,"));
  EXPECT_THAT(json, HasSubstr("\"log_index\":7,"));
  EXPECT_THAT(json, HasSubstr("{\"values\":[\"North, \\\"East\\\"\"],\"is_total\":false,\"count\":25,\"status\":\"ROUNDED\"}"));
  EXPECT_THAT(json, HasSubstr("{\"values\":[\"London\"],\"is_total\":false,\"count\":null,\"status\":\"SUPPRESSED\"}"));

  trelink::v1::LinkageReport report;
  report.set_generation(3);
  report.mutable_records()->set_value(1234);
  report.mutable_persons()->set_suppressed(true);
  const std::string linkage = ToJson(FromMessage(report));
  EXPECT_THAT(linkage, HasSubstr("\"generation\":3"));
  EXPECT_THAT(linkage, HasSubstr("\"records\":{\"value\":1234,\"status\":\"released\"}"));
  EXPECT_THAT(linkage, HasSubstr("\"persons\":{\"value\":null,\"status\":\"suppressed\"}"));
}

TEST(CliOutputTest, CsvIsQuotedAndCarriesGenerationPolicyAndLogIndex) {
  EXPECT_EQ(CountTableCsv(SampleTable()),
            "generation,policy_version,log_index,region,count,status\r\n"
            "12,test-1,7,\"North, \"\"East\"\"\",25,ROUNDED\r\n"
            "12,test-1,7,London,,SUPPRESSED\r\n");
  EXPECT_EQ(OutputValue::Double(0.1).ScalarText(), "0.1");
  EXPECT_EQ(ToJson(OutputValue::Double(std::nan(""))), "null");
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a\nb"), "\"a\nb\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");

  trelink::v1::WithdrawResponse response;
  response.set_withdrawn(2);
  EXPECT_EQ(ToFieldValueCsv(FromMessage(response)),
            "field,value\r\nwithdrawn,2\r\nalready_withdrawn,0\r\nnot_found,0\r\n");
}

}  // namespace
}  // namespace trelink
