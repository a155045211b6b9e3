#include "common/report/html_report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/report/bar_chart.h"
#include "common/report/html_page.h"
#include "tests/support/status_matchers.h"

namespace trelink::report {
namespace {

using ::trelink::testing::IsOk;
using trelink::v1::ReportCount;

// A value no released count in these reports has: if it shows anywhere in a
// page, a suppressed count leaked.
constexpr uint64_t kLeak = 987654321;

void Released(ReportCount* c, uint64_t value) { c->set_value(value); }
void Withheld(ReportCount* c) {
  c->set_suppressed(true);
  c->set_value(kLeak);  // a careless renderer would print it
}

trelink::v1::PassReport* AddPass(trelink::v1::LinkageReport& r, const std::string& name, const std::string& dataset,
                                 uint64_t in, uint64_t linked) {
  auto* p = r.add_passes();
  p->set_name(name);
  p->set_dataset(dataset);
  Released(p->mutable_participants_in(), in);
  Released(p->mutable_participants_linked(), linked);
  return p;
}

// A report with every section filled, some counts withheld.
trelink::v1::LinkageReport SampleReport() {
  trelink::v1::LinkageReport r;
  r.set_project("demo");
  r.set_generation(3);
  r.set_created_at("2026-11-02T10:00:00Z");
  r.set_disclosure_threshold(10);
  r.set_mode("incremental");
  r.set_fitted_at_generation(1);
  Released(r.mutable_participants_relinked(), 412);
  Released(r.mutable_records(), 35012);
  Released(r.mutable_participants(), 52001);
  Released(r.mutable_persons(), 30077);
  Withheld(r.mutable_records_sharing_nhs_number());
  Released(r.mutable_lineage()->mutable_kept(), 29950);
  Released(r.mutable_lineage()->mutable_new_persons(), 120);
  Withheld(r.mutable_lineage()->mutable_merged());
  Withheld(r.mutable_lineage()->mutable_split());
  Released(r.mutable_lineage()->mutable_left(), 0);
  AddPass(r, "nhs_number", "", 52001, 40100);
  AddPass(r, "nhs_number", "maternity", 30000, 25000);
  AddPass(r, "name_dob_postcode", "court", 800, 640);
  Withheld(AddPass(r, "name_dob_postcode", "social_care", 0, 0)->mutable_participants_linked());
  auto* small = AddPass(r, "probabilistic", "court", 0, 0);
  Withheld(small->mutable_participants_in());
  Withheld(small->mutable_participants_linked());
  auto* f = r.mutable_probabilistic();
  f->set_candidate_pairs(81234);
  f->set_em_iterations(12);
  f->set_match_prior(0.00021);
  f->set_threshold_weight(6.5);
  Withheld(f->mutable_accepted_pairs());
  auto* w = f->add_weights();
  w->set_field("given_name");
  w->set_term_frequency(true);
  for (const auto& [level, m, u] : std::vector<std::tuple<std::string, double, double>>{
           {"exact", 0.91, 0.002}, {"jaro-winkler >= 0.92", 0.06, 0.01}, {"else", 0.03, 0.988}}) {
    w->add_levels(level);
    w->add_m(m);
    w->add_u(u);
    w->add_match_weight(std::log2(m / u));
  }
  auto* q = r.mutable_quality();
  q->set_gold_token("nhs_number");
  q->set_method("gold pairs: participants who both carry an NHS number");
  auto* e = q->add_estimates();
  e->set_scope("all");
  e->set_estimated(true);
  e->set_precision(0.9987);
  e->set_recall(0.9812);
  Released(e->mutable_gold_pairs(), 20011);
  e->set_method("gold pairs of this scope");
  auto* none = q->add_estimates();
  none->set_scope("court.person ~ maternity.baby");
  none->set_method("too few gold pairs");
  auto* g = q->add_subgroups();
  g->set_attribute("region");
  g->set_value("E12000003");
  Released(g->mutable_participants(), 4100);
  g->set_missed_link_rate(0.0213);
  g->set_false_link_rate(0.0011);
  auto* tiny = q->add_subgroups();
  tiny->set_attribute("region");
  tiny->set_value("W99999999");
  Withheld(tiny->mutable_participants());
  auto* o = r.mutable_opt_out();
  o->set_list_version("2026-11");
  o->set_numbers_in_list(3);
  Withheld(o->mutable_persons_excluded());
  auto* d = o->add_records_excluded();
  d->set_dataset("maternity");
  Withheld(d->mutable_count());
  return r;
}

trelink::v1::CountTable SampleTable() {
  trelink::v1::CountTable t;
  t.set_query_name("newborn proceedings by region");
  t.add_dimensions("region");
  t.set_policy_version("sdc-2026-1");
  t.set_generation(3);
  t.set_log_index(17);
  for (const auto& [region, count, status] : std::vector<std::tuple<std::string, uint64_t, trelink::v1::CellStatus>>{
           {"E12000001", 145, trelink::v1::ROUNDED},
           {"E12000002", kLeak, trelink::v1::SUPPRESSED},
           {"E12000003", 20, trelink::v1::ROUNDED},
           {"*", 170, trelink::v1::ROUNDED}}) {
    auto* c = t.add_cells();
    c->add_values(region);
    c->set_count(count);
    c->set_status(status);
    c->set_is_total(region == "*");
  }
  return t;
}

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Well-formed as XML: every element closed in order, attributes quoted,
// every '&' an entity. Returns the first problem, or "".
std::string MarkupProblem(const std::string& html) {
  std::vector<std::string> open;
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] == '&') {
      const size_t semi = html.find(';', i);
      const std::string entity = html.substr(i, semi == std::string::npos ? 8 : semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&#39;") {
        return absl::StrCat("bad entity at ", i, ": ", entity);
      }
      i = semi + 1;
      continue;
    }
    if (html[i] == '>') return absl::StrCat("stray '>' at ", i);
    if (html[i] != '<') {
      ++i;
      continue;
    }
    // A tag: find its end outside quoted attribute values.
    size_t end = i + 1;
    char quote = 0;
    for (; end < html.size(); ++end) {
      if (quote != 0) {
        if (html[end] == quote) quote = 0;
        if (html[end] == '<') return absl::StrCat("'<' in an attribute value at ", end);
      } else if (html[end] == '"' || html[end] == '\'') {
        quote = html[end];
      } else if (html[end] == '<') {
        return absl::StrCat("'<' inside a tag at ", end);
      } else if (html[end] == '>') {
        break;
      }
    }
    if (end >= html.size()) return absl::StrCat("unterminated tag at ", i);
    const std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (absl::StartsWith(tag, "!DOCTYPE")) continue;
    if (absl::StartsWith(tag, "/")) {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) {
        return absl::StrCat("</", name, "> closes ", open.empty() ? "nothing" : open.back());
      }
      open.pop_back();
      continue;
    }
    if (absl::EndsWith(tag, "/")) continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n")));
  }
  return open.empty() ? "" : absl::StrCat("<", open.back(), "> never closed");
}

TEST(HtmlReportTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(EscapeHtml("tab\tok\x01"), "tab\tok\xEF\xBF\xBD");
}

TEST(HtmlReportTest, ScriptInADatasetNameOrMethodIsEscaped) {
  trelink::v1::LinkageReport r = SampleReport();
  r.set_project("demo\"><script>alert('project')</script>");
  r.mutable_passes(1)->set_dataset("<script>alert(1)</script>");
  r.mutable_quality()->mutable_estimates(0)->set_scope("<img src=x onerror=alert(2)>");
  r.mutable_quality()->mutable_estimates(0)->set_method("</td><script>alert(3)</script>");
  r.mutable_probabilistic()->mutable_weights(0)->set_field("<svg onload=alert(4)>");
  r.mutable_opt_out()->mutable_records_excluded(0)->set_dataset("<script>");
  const std::string html = LinkageReportHtml(r);
  const std::string lower = absl::AsciiStrToLower(html);
  EXPECT_FALSE(absl::StrContains(lower, "<script")) << html;
  EXPECT_FALSE(absl::StrContains(lower, "<img")) << html;
  EXPECT_FALSE(absl::StrContains(lower, "<svg onload")) << html;
  EXPECT_TRUE(absl::StrContains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(absl::StrContains(html, "&lt;img src=x onerror=alert(2)&gt;"));
  EXPECT_EQ(MarkupProblem(html), "");
}

TEST(HtmlReportTest, SuppressedLinkageCountsNeverShowNumbers) {
  const std::string html = LinkageReportHtml(SampleReport());
  EXPECT_FALSE(absl::StrContains(html, absl::StrCat(kLeak))) << html;
  // Lineage merged and split, a pass's participants in and two newly linked,
  // accepted pairs, a subgroup, opt-out persons and records.
  EXPECT_GE(Occurrences(html, "<td class=\"suppressed\""), 7u);
  EXPECT_TRUE(absl::StrContains(html, ">&lt;10</td>"));
  // The suppressed subgroup shows no rates either.
  const size_t row = html.find("W99999999");
  ASSERT_NE(row, std::string::npos);
  const std::string subgroup_row = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_TRUE(absl::StrContains(subgroup_row, "&lt;10")) << subgroup_row;
  EXPECT_FALSE(absl::StrContains(subgroup_row, "0.")) << subgroup_row;
  // Charts draw a marker, not a bar, for the pass with both counts withheld.
  EXPECT_EQ(Occurrences(html, "class=\"suppressed-mark\" x="), 2u) << "the waterfall's legend + 1 marker";
}

TEST(HtmlReportTest, EveryPassAndDatasetAppearsInTheChartAndTheTable) {
  const trelink::v1::LinkageReport r = SampleReport();
  const std::string html = LinkageReportHtml(r);
  for (const auto& p : r.passes()) {
    const std::string label = absl::StrCat(p.name(), " / ", p.dataset().empty() ? "(all)" : p.dataset());
    EXPECT_TRUE(absl::StrContains(html, absl::StrCat(">", label, "</text>"))) << label;
    EXPECT_TRUE(absl::StrContains(html, absl::StrCat("<td>", p.name(), "</td><td>",
                                                     p.dataset().empty() ? "(all)" : p.dataset(), "</td>")))
        << label;
  }
  EXPECT_TRUE(absl::StrContains(html, "<td class=\"num\">52001</td>"));
  EXPECT_TRUE(absl::StrContains(html, ">30000 in, 25000 newly linked</text>"));
  EXPECT_TRUE(absl::StrContains(html, ">0 in, &lt;10 newly linked</text>"));
}

// A pass that counts no keys or reviews (the review of a key's pairs
// counts them on the key's own row) leaves those cells empty, not 0.
TEST(HtmlReportTest, APassLeavesCountsItDoesNotKeepEmpty) {
  trelink::v1::LinkageReport r = SampleReport();
  trelink::v1::PassReport* review = r.add_passes();
  review->set_name("name_dob reviewed");
  Released(review->mutable_participants_in(), 40);
  Released(review->mutable_participants_linked(), 12);
  Released(review->mutable_merges(), 6);
  Released(review->mutable_merges_refused(), 0);
  const std::string html = LinkageReportHtml(r);
  const size_t row = html.find("<td>name_dob reviewed</td>");
  ASSERT_NE(row, std::string::npos);
  const std::string cells = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_TRUE(absl::EndsWith(cells, "<td class=\"num\">0</td><td></td><td></td>")) << cells;
}

TEST(HtmlReportTest, ShowsWeightsQualityLineageModeAndOptOut) {
  const std::string html = LinkageReportHtml(SampleReport());
  // One chart per comparison, one bar label per level.
  EXPECT_TRUE(absl::StrContains(html, "<h3>given_name</h3>"));
  EXPECT_TRUE(absl::StrContains(html, ">jaro-winkler &gt;= 0.92</text>"));
  EXPECT_TRUE(absl::StrContains(html, "+8.83 (m 0.91, u 0.002)")) << "log2(0.91/0.002) = 8.83";
  EXPECT_TRUE(absl::StrContains(html, "<td>exact</td><td class=\"num\">0.91</td><td class=\"num\">0.002</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<rect class=\"neg\"")) << "the 'else' level weighs against a match";
  EXPECT_TRUE(absl::StrContains(html, "<td class=\"num\">0.9987</td><td class=\"num\">0.9812</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<td>gold pairs of this scope</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<td>too few gold pairs</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<td class=\"num\">0.0213</td><td class=\"num\">0.0011</td>"));
  EXPECT_TRUE(absl::StrContains(html, "412 new or released participants linked into the persons of generation 2; "
                                      "model and quality estimate of full generation 1"));
  EXPECT_TRUE(absl::StrContains(html, "<td class=\"num\">29950</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<dd>2026-11</dd>"));
  EXPECT_TRUE(absl::StrContains(html, "<dd>2026-11-02T10:00:00Z</dd>"));
  EXPECT_TRUE(absl::StrContains(html, "counts below 10 are shown as &lt;10"));
  EXPECT_EQ(MarkupProblem(html), "");
}

TEST(HtmlReportTest, WeightChartsShareOneScaleAndSkipInfiniteWeights) {
  trelink::v1::LinkageReport r = SampleReport();
  auto* w = r.mutable_probabilistic()->add_weights();
  w->set_field("date_of_birth");
  w->add_levels("exact");
  w->add_m(0.99);
  w->add_u(0.0001);
  w->add_match_weight(std::log2(0.99 / 0.0001));  // 13.27: the longest bar of every chart
  w->add_levels("never");
  w->add_m(0);
  w->add_u(0.5);
  w->add_match_weight(-std::numeric_limits<double>::infinity());
  const std::string html = LinkageReportHtml(r);
  EXPECT_FALSE(absl::StrContains(html, "nan")) << html;
  EXPECT_EQ(MarkupProblem(html), "");
  // given_name's axis sits where date_of_birth's does: at the same x, from
  // the same range (the else level's -5.04 to 13.27).
  const std::string axis = "<line class=\"axis\" x1=\"";
  const size_t first = html.find(axis, html.find("<h3>given_name</h3>"));
  const size_t second = html.find(axis, html.find("<h3>date_of_birth</h3>"));
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(html.substr(first, axis.size() + 6), html.substr(second, axis.size() + 6));
  EXPECT_TRUE(absl::StrContains(html, absl::StrCat(axis, "323.6\""))) << "230 + 5.041 / 18.315 * 340";
}

TEST(HtmlReportTest, AFullReportWithoutOptionalSectionsIsWellFormed) {
  trelink::v1::LinkageReport r;
  r.set_project("p");
  r.set_mode("full");
  const std::string html = LinkageReportHtml(r);
  EXPECT_EQ(MarkupProblem(html), "");
  EXPECT_TRUE(absl::StrContains(html, "full: every record linked afresh"));
  EXPECT_TRUE(absl::StrContains(html, "No opt-out list was active"));
}

TEST(HtmlReportTest, CountTableMarksSuppressedCellsAndShowsProvenance) {
  trelink::v1::CountTable t = SampleTable();
  t.mutable_cells(2)->set_values(0, "<b>E12000003</b>");
  const std::string html = CountTableHtml(t);
  EXPECT_FALSE(absl::StrContains(html, absl::StrCat(kLeak))) << html;
  EXPECT_TRUE(absl::StrContains(html, "<td>E12000002</td><td class=\"suppressed\""));
  EXPECT_TRUE(absl::StrContains(html, "<td>E12000001</td><td class=\"num\">145</td><td>released (rounded)</td>"));
  EXPECT_TRUE(absl::StrContains(html, "<td>(all)</td><td class=\"num\">170</td>"));
  EXPECT_TRUE(absl::StrContains(html, "&lt;b&gt;E12000003&lt;/b&gt;"));
  EXPECT_TRUE(absl::StrContains(html, "<dt>Linkage generation</dt><dd>3</dd>"));
  EXPECT_TRUE(absl::StrContains(html, "<dt>Disclosure policy</dt><dd>sdc-2026-1</dd>"));
  EXPECT_TRUE(absl::StrContains(html, "<dt>Disclosure log entry</dt><dd>17</dd>"));
  // Three cells charted (the margin is not), the suppressed one as a marker.
  EXPECT_EQ(Occurrences(html, "<g><title>"), 3u);
  EXPECT_EQ(Occurrences(html, "class=\"suppressed-mark\" x="), 2u) << "legend + 1 marker";
  EXPECT_EQ(MarkupProblem(html), "");
}

TEST(HtmlReportTest, PagesFetchAndRunNothing) {
  for (const std::string& html : {LinkageReportHtml(SampleReport()), CountTableHtml(SampleTable())}) {
    EXPECT_TRUE(absl::StrContains(html, "content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    EXPECT_FALSE(absl::StrContains(html, "http://") && !absl::StrContains(html, "http://www.w3.org/2000/svg"));
    EXPECT_FALSE(absl::StrContains(html, "https://"));
    EXPECT_FALSE(absl::StrContains(html, "<script"));
    EXPECT_FALSE(absl::StrContains(html, "<link"));
  }
}

TEST(HtmlReportTest, WritesTheFileAndNamesItOnFailure) {
  const std::string path = ::testing::TempDir() + "/report.html";
  ASSERT_THAT(WriteHtmlFile(path, "<p>x</p>"), IsOk());
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "<p>x</p>");
  const absl::Status missing = WriteHtmlFile("/nonexistent-dir/report.html", "x");
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.message(), "/nonexistent-dir/report.html"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace trelink::report
