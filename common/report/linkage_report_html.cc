#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/report/bar_chart.h"
#include "common/report/html_page.h"
#include "common/report/html_report.h"

namespace trelink::report {
namespace {

using trelink::v1::LinkageReport;
using trelink::v1::ReportCount;

// How every count of one report is shown: released, or "<threshold".
class Counts {
 public:
  explicit Counts(uint32_t threshold)
      : withheld_(threshold > 0 ? absl::StrCat("<", threshold) : std::string("suppressed")) {}

  std::string Text(const ReportCount& c) const { return c.suppressed() ? withheld_ : absl::StrCat(c.value()); }
  std::string Html(const ReportCount& c) const { return EscapeHtml(Text(c)); }
  std::string Cell(const ReportCount& c) const {
    return c.suppressed() ? SuppressedCell(withheld_) : NumberCell(absl::StrCat(c.value()));
  }
  const std::string& withheld() const { return withheld_; }
  static BarValue Bar(const ReportCount& c) {
    return BarValue{c.suppressed() ? 0.0 : static_cast<double>(c.value()), c.suppressed()};
  }

 private:
  std::string withheld_;
};

std::string ModeHtml(const LinkageReport& r, const Counts& counts) {
  if (r.mode() == "incremental") {
    return EscapeHtml(absl::StrCat("incremental: ", counts.Text(r.participants_relinked()),
                                   " new or released participants linked into the persons of generation ",
                                   r.generation() - 1, "; model and quality estimate of full generation ",
                                   r.fitted_at_generation()));
  }
  if (r.mode() == "full") return "full: every record linked afresh, model fitted and quality estimated on it";
  return EscapeHtml(r.mode().empty() ? "not recorded" : r.mode());
}

std::string Summary(const LinkageReport& r, const Counts& counts) {
  return DefinitionList({
      {"Project", EscapeHtml(r.project())},
      {"Generation", EscapeHtml(absl::StrCat(r.generation()))},
      {"Created at", EscapeHtml(r.created_at())},
      {"Mode", ModeHtml(r, counts)},
      {"Disclosure threshold",
       EscapeHtml(absl::StrCat("counts below ", r.disclosure_threshold(), " are shown as ", counts.withheld()))},
      {"Records", counts.Html(r.records())},
      {"Participants", counts.Html(r.participants())},
      {"Persons", counts.Html(r.persons())},
      {"Records whose participants share an NHS number", counts.Html(r.records_sharing_nhs_number())},
      {"Run time", EscapeHtml(absl::StrFormat("%.1f s (load %.1f s, link %.1f s, save %.1f s)", r.seconds(),
                                              r.load_seconds(), r.link_seconds(), r.save_seconds()))},
  });
}

std::string Lineage(const LinkageReport& r, const Counts& counts) {
  if (!r.has_lineage()) return "";
  const auto& l = r.lineage();
  return absl::StrCat(
      Element("h2", "Person ids: lineage from the previous generation"),
      Table("What became of the previous generation's persons",
            {"kept", "new", "merged away", "split off", "left"},
            {{counts.Cell(l.kept()), counts.Cell(l.new_persons()), counts.Cell(l.merged()), counts.Cell(l.split()),
              counts.Cell(l.left())}}));
}

std::string PassDataset(const trelink::v1::PassReport& p) { return p.dataset().empty() ? "(all)" : p.dataset(); }

std::string Waterfall(const LinkageReport& r, const Counts& counts) {
  BarChart chart{"Linkage waterfall: participants in and newly linked, per pass and dataset",
                 {"participants in", "newly linked"},
                 {}};
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r.passes()) {
    chart.rows.push_back(BarRow{absl::StrCat(p.name(), " / ", PassDataset(p)),
                                {Counts::Bar(p.participants_in()), Counts::Bar(p.participants_linked())},
                                absl::StrCat(counts.Text(p.participants_in()), " in, ",
                                             counts.Text(p.participants_linked()), " newly linked")});
    const bool all = p.dataset().empty();
    rows.push_back({TextCell(p.name()), TextCell(PassDataset(p)), counts.Cell(p.participants_in()),
                    counts.Cell(p.participants_linked()), all ? counts.Cell(p.merges()) : TextCell(""),
                    all ? counts.Cell(p.merges_refused()) : TextCell(""),
                    p.has_overshared_keys() ? counts.Cell(p.overshared_keys()) : TextCell(""),
                    p.has_pairs_reviewed() ? counts.Cell(p.pairs_reviewed()) : TextCell("")});
  }
  return absl::StrCat(
      Element("h2", "Linkage waterfall"),
      Element("p", r.mode() == "incremental" ? "Passes in order; this incremental run counts only the participants "
                                               "it linked."
                                             : "Passes in order: the participants each pass saw, and those it "
                                               "joined to another participant for the first time."),
      BarChartSvg(chart),
      Table("Passes", {"pass", "dataset", "participants in", "newly linked", "merges", "merges refused",
                       "over-shared keys", "pairs reviewed"},
            rows));
}

// `range`: the lowest and highest weight of all fields, one scale for all.
std::string FieldWeightsHtml(const trelink::v1::FieldWeights& w, std::pair<double, double> range) {
  BarChart chart{absl::StrCat("Match weight per comparison level of ", w.field()), {}, {}, range.first, range.second};
  std::vector<std::vector<std::string>> rows;
  for (int l = 0; l < w.levels_size(); ++l) {
    const double weight = l < w.match_weight_size() ? w.match_weight(l) : 0;
    const double m = l < w.m_size() ? w.m(l) : 0;
    const double u = l < w.u_size() ? w.u(l) : 0;
    chart.rows.push_back(BarRow{w.levels(l), {BarValue{weight, false}},
                                absl::StrFormat("%+.2f (m %.3g, u %.3g)", weight, m, u)});
    rows.push_back({TextCell(w.levels(l)), NumberCell(absl::StrFormat("%.4g", m)),
                    NumberCell(absl::StrFormat("%.4g", u)), NumberCell(absl::StrFormat("%+.2f", weight))});
  }
  return absl::StrCat(
      Element("h3", w.field()),
      w.term_frequency() ? Element("p", "The first level's weight is adjusted per value (rare values count more).")
                         : "",
      BarChartSvg(chart),
      Table(absl::StrCat(w.field(), ": comparison levels"), {"level", "m", "u", "match weight log2(m/u)"}, rows));
}

std::string Probabilistic(const LinkageReport& r, const Counts& counts) {
  if (!r.has_probabilistic()) return "";
  const auto& f = r.probabilistic();
  std::string html = absl::StrCat(
      Element("h2", "Fellegi-Sunter match weights"),
      DefinitionList({
          {"Candidate pairs", EscapeHtml(absl::StrCat(f.candidate_pairs()))},
          {"EM iterations", EscapeHtml(absl::StrCat(f.em_iterations()))},
          {"Match prior", EscapeHtml(absl::StrFormat("%.3g", f.match_prior()))},
          {"Threshold weight", EscapeHtml(absl::StrFormat("%.2f", f.threshold_weight()))},
          {"Accepted pairs", counts.Html(f.accepted_pairs())},
      }),
      Element("p", "Per comparison level: m = P(level | match) fitted by EM, u = P(level | non-match) from random "
                   "pairs, and the match weight log2(m/u) a pair gains at that level. The charts share one "
                   "scale."));
  std::pair<double, double> range{0, 0};
  for (const auto& w : f.weights()) {
    for (const double weight : w.match_weight()) {
      if (!std::isfinite(weight)) continue;
      range = {std::min(range.first, weight), std::max(range.second, weight)};
    }
  }
  for (const auto& w : f.weights()) absl::StrAppend(&html, FieldWeightsHtml(w, range));
  return html;
}

std::string Quality(const LinkageReport& r, const Counts& counts) {
  if (!r.has_quality()) return "";
  const auto& q = r.quality();
  std::vector<std::vector<std::string>> estimates;
  for (const auto& e : q.estimates()) {
    if (!e.estimated()) {
      estimates.push_back({TextCell(e.scope()), TextCell("-"), TextCell("-"), TextCell("-"), TextCell(e.method())});
      continue;
    }
    estimates.push_back({TextCell(e.scope()), NumberCell(absl::StrFormat("%.4f", e.precision())),
                         NumberCell(absl::StrFormat("%.4f", e.recall())), counts.Cell(e.gold_pairs()),
                         TextCell(e.method())});
  }
  std::string html = absl::StrCat(
      Element("h2", "Estimated linkage quality"),
      Element("p", q.method().empty() ? "No method applied." : q.method()),
      Table("Pairwise precision and recall, and how each was estimated",
            {"scope", "precision", "recall", "gold pairs", "how estimated"}, estimates));
  if (q.subgroups().empty()) return html;
  std::vector<std::vector<std::string>> subgroups;
  for (const auto& g : q.subgroups()) {
    std::vector<std::string> row = {TextCell(g.attribute()), TextCell(g.value().empty() ? "(none)" : g.value()),
                                    counts.Cell(g.participants())};
    if (g.participants().suppressed()) {
      row.push_back(TextCell("-"));
      row.push_back(TextCell("-"));
    } else {
      row.push_back(NumberCell(absl::StrFormat("%.4f", g.missed_link_rate())));
      row.push_back(NumberCell(absl::StrFormat("%.4f", g.false_link_rate())));
    }
    subgroups.push_back(std::move(row));
  }
  absl::StrAppend(
      &html, Element("h2", "Linkage errors by subgroup"),
      Element("p", absl::StrCat("From a shadow linkage with ", q.gold_token().empty() ? "the gold identifier" : q.gold_token(),
                                " hidden, scored on the participants who carry it: missed links (true partners not "
                                "linked) and false links (linked to another person), per participant.")),
      Table("Linkage errors by subgroup", {"attribute", "value", "participants", "missed link rate", "false link rate"},
            subgroups));
  return html;
}

std::string OptOut(const LinkageReport& r, const Counts& counts) {
  std::string html = Element("h2", "National data opt-out");
  if (!r.has_opt_out() || r.opt_out().list_version().empty()) {
    return absl::StrCat(html, Element("p", "No opt-out list was active for this generation."));
  }
  const auto& o = r.opt_out();
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : o.records_excluded()) rows.push_back({TextCell(d.dataset()), counts.Cell(d.count())});
  absl::StrAppend(&html,
                  DefinitionList({{"List version", EscapeHtml(o.list_version())},
                                  {"NHS numbers in the list", EscapeHtml(absl::StrCat(o.numbers_in_list()))},
                                  {"Persons excluded", counts.Html(o.persons_excluded())}}),
                  rows.empty() ? Element("p", "No records excluded.")
                               : Table("Records excluded per dataset", {"dataset", "records"}, rows));
  return html;
}

}  // namespace

std::string LinkageReportHtml(const LinkageReport& r) {
  const Counts counts(r.disclosure_threshold());
  const std::string body = absl::StrCat(Summary(r, counts), Lineage(r, counts), Waterfall(r, counts),
                                        Probabilistic(r, counts), Quality(r, counts), OptOut(r, counts));
  return HtmlDocument(absl::StrCat("Linkage report: project ", r.project(), ", generation ", r.generation()), body);
}

}  // namespace trelink::report
