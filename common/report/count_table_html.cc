#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/report/bar_chart.h"
#include "common/report/html_page.h"
#include "common/report/html_report.h"

namespace trelink::report {
namespace {

using trelink::v1::CellStatus;

bool Released(CellStatus s) { return s == trelink::v1::RELEASED || s == trelink::v1::ROUNDED; }

std::string StatusText(CellStatus s) {
  switch (s) {
    case trelink::v1::RELEASED: return "released (exact)";
    case trelink::v1::ROUNDED: return "released (rounded)";
    case trelink::v1::SUPPRESSED: return "suppressed";
    default: return "unknown";
  }
}

// "*" marks a margin in a cell's values.
std::string ValueText(const std::string& value) { return value == "*" ? "(all)" : value; }

std::string CellLabel(const trelink::v1::Cell& cell) {
  std::vector<std::string> values;
  for (const std::string& v : cell.values()) values.push_back(ValueText(v));
  return values.empty() ? "count" : absl::StrJoin(values, " \xC2\xB7 ");
}

}  // namespace

std::string CountTableHtml(const trelink::v1::CountTable& table) {
  std::string body = DefinitionList({
      {"Linkage generation", EscapeHtml(absl::StrCat(table.generation()))},
      {"Disclosure policy", EscapeHtml(table.policy_version())},
      {"Disclosure log entry", EscapeHtml(absl::StrCat(table.log_index()))},
      {"National data opt-out list", EscapeHtml(table.opt_out_list().empty() ? "none" : table.opt_out_list())},
  });
  absl::StrAppend(&body, "<p class=\"note\">Counts are persons after disclosure control; a suppressed cell is withheld ",
                  "(whatever the reason) and shows no number. Released counts carry linkage error as well as ",
                  "rounding.</p>\n");
  std::vector<std::string> headers(table.dimensions().begin(), table.dimensions().end());
  headers.push_back("count");
  headers.push_back("status");
  std::vector<std::vector<std::string>> rows;
  BarChart chart{absl::StrCat(table.query_name(), ": released counts"), {}, {}};
  for (const trelink::v1::Cell& cell : table.cells()) {
    std::vector<std::string> row;
    for (const std::string& v : cell.values()) row.push_back(TextCell(ValueText(v)));
    const bool released = Released(cell.status());
    row.push_back(released ? NumberCell(absl::StrCat(cell.count())) : SuppressedCell("suppressed"));
    row.push_back(TextCell(StatusText(cell.status())));
    rows.push_back(std::move(row));
    if (cell.is_total() && table.cells_size() > 1) continue;  // margins would dwarf the cells
    chart.rows.push_back(BarRow{CellLabel(cell),
                                {BarValue{released ? static_cast<double>(cell.count()) : 0, !released}},
                                released ? absl::StrCat(cell.count()) : "suppressed"});
  }
  absl::StrAppend(&body, Element("h2", "Cells"), Table(table.query_name(), headers, rows));
  absl::StrAppend(&body, Element("h2", "Chart"), BarChartSvg(chart));
  return HtmlDocument(absl::StrCat("Count table: ", table.query_name()), body);
}

absl::Status WriteHtmlFile(const std::string& path, const std::string& html) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << html;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write the HTML page to ", path));
  return absl::OkStatus();
}

}  // namespace trelink::report
