// The HTML pages of `trelink-cli report --html` and `query --html`, from a
// real linkage run (real services over mTLS, a synthetic population sent by
// the three providers), opened in headless Chromium: they parse as strict
// XML, render to a screenshot, show what the report holds, and leave nothing
// in the browser's console (no failed fetch, no script, no CSP violation).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/report/html_page.h"
#include "common/report/html_report.h"
#include "tests/support/deployment.h"
#include "tests/support/grpc_test_client.h"
#include "tests/support/service_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {
namespace {

using ::trelink::testing::BinaryDir;
using ::trelink::testing::Concat;
using ::trelink::testing::FlagsFor;
using ::trelink::testing::IsOk;
using ::trelink::testing::ProcessResult;
using ::trelink::testing::RunCommand;
using ::trelink::testing::TlsFlags;

std::string Chromium() {
  const char* path = std::getenv("TRELINK_CHROMIUM");
  return path != nullptr ? path : "/usr/bin/chromium";
}

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// What the browser made of one page.
struct Rendered {
  std::string dom;               // the DOM after load, serialised
  std::vector<std::string> console;  // console messages (errors, CSP violations, ...)
  std::string png;               // the screenshot
};

Rendered Render(const std::string& dir, const std::string& page) {
  const std::string png = page + ".png";
  ProcessResult run = RunCommand(Chromium(),
                                 {"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + dir + "/chromium",
                                  "--enable-logging=stderr", "--v=0", "--window-size=1100,2400",
                                  "--screenshot=" + png, "--dump-dom", "file://" + page},
                                 dir);
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  Rendered rendered;
  rendered.dom = run.stdout_text;
  for (absl::string_view line : absl::StrSplit(run.stderr_text, '\n')) {
    if (absl::StrContains(line, ":CONSOLE") || absl::StrContains(line, "Uncaught")) {
      rendered.console.emplace_back(line);
    }
  }
  std::ifstream in(png, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  rendered.png = bytes.str();
  return rendered;
}

// A PNG of the window's width, and more than a blank page's bytes.
void ExpectScreenshot(const std::string& png, const std::string& page) {
  ASSERT_GT(png.size(), 24u) << page;
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n") << page;
  const uint32_t width = (static_cast<uint8_t>(png[16]) << 24) | (static_cast<uint8_t>(png[17]) << 16) |
                         (static_cast<uint8_t>(png[18]) << 8) | static_cast<uint8_t>(png[19]);
  EXPECT_EQ(width, 1100u) << page;
  EXPECT_GT(png.size(), 20000u) << page << ": a page with tables and charts";
}

// Strict XML: every element closed, every entity known; the count of <svg>.
int ParsedSvgCount(const std::string& dir, const std::string& page) {
  ProcessResult parsed = RunCommand(
      "/usr/bin/python3",
      {"-c",
       "import sys, xml.etree.ElementTree as E\n"
       "root = E.parse(sys.argv[1]).getroot()\n"
       "print(len(root.findall('.//{http://www.w3.org/2000/svg}svg')))",
       page},
      dir);
  EXPECT_EQ(parsed.exit_code, 0) << page << ": " << parsed.stderr_text;
  return parsed.exit_code == 0 ? std::stoi(parsed.stdout_text) : -1;
}

TEST(HtmlReportBrowserTest, LinkageReportAndCountTableRenderInHeadlessChromium) {
  const std::string dir = ::trelink::testing::MakeTempDir();
  ASSERT_TRUE(::trelink::testing::PrepareDeployment(dir));
  ProcessResult synth =
      RunCommand(BinaryDir() + "/trelink-synth", {"--mothers", "300", "--seed", "8", "--out", dir}, dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.stderr_text;
  ::trelink::testing::RunningServices services;
  ASSERT_TRUE(::trelink::testing::StartServices(dir, {"pseudonymiser", "linker", "aggregator"}, services));
  const std::vector<std::string> endpoints = services.CliEndpoints();
  for (const ProcessResult& ingest : ::trelink::testing::IngestAllDatasets(dir, endpoints)) {
    ASSERT_EQ(ingest.exit_code, 0) << ingest.stderr_text;
  }
  const std::string cli = BinaryDir() + "/trelink-cli";
  ProcessResult link = RunCommand(cli, Concat(Concat({"link"}, FlagsFor("link", endpoints)), TlsFlags("linkage-admin")), dir);
  ASSERT_EQ(link.exit_code, 0) << link.stderr_text;

  // The pages, as a user makes them.
  const std::string report_page = dir + "/report.html";
  ProcessResult report = RunCommand(
      cli, Concat(Concat({"report", "--html", report_page}, FlagsFor("report", endpoints)), TlsFlags("linkage-admin")), dir);
  ASSERT_EQ(report.exit_code, 0) << report.stderr_text;
  const std::string table_page = dir + "/q3.html";
  ProcessResult query = RunCommand(
      cli,
      Concat({"query", "--aggregator", absl::StrCat("127.0.0.1:", services.ports.at("aggregator")), "--project",
              "demo", "--query", std::string(TRELINK_SOURCE_DIR) + "/deploy/queries/q3_newborn_proceedings_by_region.textproto",
              "--html", table_page},
             TlsFlags("analyst")),
      dir);
  ASSERT_EQ(query.exit_code, 0) << query.stderr_text;

  // What the pages must show: the report as the linker holds it.
  grpc::ClientContext context;
  ::trelink::testing::WithDeadline(context);
  trelink::v1::GetLinkageReportRequest request;
  request.set_project("demo");
  trelink::v1::LinkageReport expected;
  ASSERT_TRUE(trelink::v1::LinkageService::NewStub(::trelink::testing::TestChannel(services.ports.at("linker"), "auditor"))
                  ->GetLinkageReport(&context, request, &expected)
                  .ok());
  ASSERT_GT(expected.passes_size(), 0);
  ASSERT_GT(expected.probabilistic().weights_size(), 0);

  const Rendered page = Render(dir, report_page);
  EXPECT_TRUE(page.console.empty()) << absl::StrJoin(page.console, "\n");
  ExpectScreenshot(page.png, report_page);
  EXPECT_EQ(ParsedSvgCount(dir, report_page), 1 + expected.probabilistic().weights_size());
  for (const char* section : {"Linkage report: project demo, generation 1", "Linkage waterfall",
                              "Fellegi-Sunter match weights", "Estimated linkage quality",
                              "Linkage errors by subgroup", "National data opt-out"}) {
    EXPECT_TRUE(absl::StrContains(page.dom, section)) << section;
  }
  for (const auto& p : expected.passes()) {
    const std::string label = absl::StrCat(p.name(), " / ", p.dataset().empty() ? "(all)" : p.dataset());
    EXPECT_TRUE(absl::StrContains(page.dom, report::EscapeHtml(label))) << label;
  }
  for (const auto& w : expected.probabilistic().weights()) {
    EXPECT_TRUE(absl::StrContains(page.dom, absl::StrCat("<h3>", w.field(), "</h3>"))) << w.field();
  }
  for (const auto& e : expected.quality().estimates()) {
    EXPECT_TRUE(absl::StrContains(page.dom, report::EscapeHtml(e.method()))) << e.method();
  }

  // The table: its provenance and every suppressed cell marked, as the text
  // output lists them ("... (linkage generation G, policy P, disclosure log entry I)").
  const Rendered table = Render(dir, table_page);
  EXPECT_TRUE(table.console.empty()) << absl::StrJoin(table.console, "\n");
  ExpectScreenshot(table.png, table_page);
  EXPECT_EQ(ParsedSvgCount(dir, table_page), 1);
  const size_t entry = query.stdout_text.find("disclosure log entry ");
  ASSERT_NE(entry, std::string::npos) << query.stdout_text;
  const std::string log_index = query.stdout_text.substr(entry + 21, query.stdout_text.find(')', entry) - entry - 21);
  EXPECT_TRUE(absl::StrContains(table.dom, absl::StrCat("<dt>Disclosure log entry</dt><dd>", log_index, "</dd>")))
      << log_index;
  EXPECT_TRUE(absl::StrContains(table.dom, "<dt>Disclosure policy</dt><dd>test-1</dd>"));
  EXPECT_TRUE(absl::StrContains(table.dom, "Q3 births with care proceedings in the first 28 days, by region"));
  size_t suppressed_lines = 0;
  for (absl::string_view line : absl::StrSplit(query.stdout_text, '\n')) {
    if (absl::EndsWith(absl::StripTrailingAsciiWhitespace(line), " suppressed")) ++suppressed_lines;
  }
  EXPECT_GT(suppressed_lines, 0u) << "a small population leaves some regions' cells below the threshold";
  EXPECT_EQ(Occurrences(table.dom, "<td class=\"suppressed\""), suppressed_lines);

  // The console check sees a page that tries to fetch: the same page shell
  // with an external image is blocked by its policy, and says so.
  const std::string fetching_page = dir + "/fetching.html";
  ASSERT_THAT(report::WriteHtmlFile(fetching_page,
                                    report::HtmlDocument("fetching", "<img src=\"http://192.0.2.1/x.png\"/>")),
              IsOk());
  const Rendered fetching = Render(dir, fetching_page);
  ASSERT_EQ(fetching.console.size(), 1u) << fetching.dom;
  EXPECT_TRUE(absl::StrContains(fetching.console[0], "Content Security Policy")) << fetching.console[0];
  std::filesystem::remove_all(dir + "/chromium");  // the browser profile: megabytes, of no use after
}

}  // namespace
}  // namespace trelink
