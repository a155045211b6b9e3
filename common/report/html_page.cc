#include "common/report/html_page.h"

#include "absl/strings/str_cat.h"

namespace trelink::report {
namespace {

// Inline only: the page must look the same with no network.
constexpr absl::string_view kStyle = R"css(
body { font-family: sans-serif; margin: 2em auto; max-width: 62em; padding: 0 1em; color: #1d2330; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: 0.8em 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef0f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.suppressed { text-align: right; font-style: italic; color: #7a4a00;
  background: repeating-linear-gradient(45deg, #fff6e0, #fff6e0 4px, #ffe8b0 4px, #ffe8b0 8px); }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
svg { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
svg text { font: 12px sans-serif; fill: #1d2330; }
.bar0 { fill: #9ecae1; } .bar1 { fill: #2f6fad; } .neg { fill: #d9734e; }
.axis { stroke: #555; stroke-width: 1; }
.suppressed-mark { fill: #fff6e0; stroke: #b07a10; stroke-dasharray: 3 2; }
.note { color: #555; font-size: 0.9em; }
)css";

}  // namespace

std::string EscapeHtml(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string HtmlDocument(absl::string_view title, absl::string_view body) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n",
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"/>\n",
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n", "<title>", EscapeHtml(title),
      "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<h1>", EscapeHtml(title), "</h1>\n", body,
      "</body>\n</html>\n");
}

std::string Element(absl::string_view tag, absl::string_view text) {
  return absl::StrCat("<", tag, ">", EscapeHtml(text), "</", tag, ">\n");
}

std::string TextCell(absl::string_view text) { return absl::StrCat("<td>", EscapeHtml(text), "</td>"); }

std::string NumberCell(absl::string_view number) {
  return absl::StrCat("<td class=\"num\">", EscapeHtml(number), "</td>");
}

std::string SuppressedCell(absl::string_view shown) {
  return absl::StrCat("<td class=\"suppressed\" title=\"suppressed under the disclosure threshold\">",
                      EscapeHtml(shown), "</td>");
}

std::string Table(absl::string_view caption, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string html = absl::StrCat("<table>\n<caption>", EscapeHtml(caption), "</caption>\n<thead><tr>");
  for (const std::string& h : headers) absl::StrAppend(&html, "<th scope=\"col\">", EscapeHtml(h), "</th>");
  absl::StrAppend(&html, "</tr></thead>\n<tbody>\n");
  for (const auto& row : rows) {
    absl::StrAppend(&html, "<tr>");
    for (const std::string& cell : row) absl::StrAppend(&html, cell);
    absl::StrAppend(&html, "</tr>\n");
  }
  absl::StrAppend(&html, "</tbody>\n</table>\n");
  return html;
}

std::string DefinitionList(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string html = "<dl>\n";
  for (const auto& [term, value] : items) absl::StrAppend(&html, "<dt>", EscapeHtml(term), "</dt><dd>", value, "</dd>\n");
  absl::StrAppend(&html, "</dl>\n");
  return html;
}

}  // namespace trelink::report
