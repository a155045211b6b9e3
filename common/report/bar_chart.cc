#include "common/report/bar_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/report/html_page.h"

namespace trelink::report {
namespace {

constexpr double kLabelWidth = 230;
constexpr double kPlotWidth = 340;
constexpr double kNoteWidth = 260;
constexpr double kRowHeight = 22;
constexpr double kBarHeight = 14;
constexpr double kLegendHeight = 22;
constexpr double kSuppressedMarkWidth = 36;
constexpr size_t kMaxLabelChars = 34;

// At most kMaxLabelChars characters, cut on a UTF-8 character boundary.
std::string ShortLabel(const std::string& label) {
  size_t chars = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    if ((static_cast<unsigned char>(label[i]) & 0xC0) == 0x80) continue;
    if (++chars > kMaxLabelChars) return label.substr(0, i) + "\xE2\x80\xA6";
  }
  return label;
}

std::string Coordinate(double x) { return absl::StrFormat("%.1f", x); }

std::string Rect(double x, double y, double width, double height, const char* css_class) {
  return absl::StrCat("<rect class=\"", css_class, "\" x=\"", Coordinate(x), "\" y=\"", Coordinate(y), "\" width=\"",
                      Coordinate(width), "\" height=\"", Coordinate(height), "\"/>");
}

std::string Text(double x, double y, const char* anchor, const std::string& text) {
  return absl::StrCat("<text x=\"", Coordinate(x), "\" y=\"", Coordinate(y), "\" text-anchor=\"", anchor, "\">",
                      EscapeHtml(text), "</text>");
}

// The released values' range, always including zero.
std::pair<double, double> Range(const BarChart& chart) {
  double lo = std::isfinite(chart.axis_min) ? std::min(0.0, chart.axis_min) : 0.0;
  double hi = std::isfinite(chart.axis_max) ? std::max(0.0, chart.axis_max) : 0.0;
  for (const BarRow& row : chart.rows) {
    for (const BarValue& v : row.layers) {
      if (v.suppressed || !std::isfinite(v.value)) continue;
      lo = std::min(lo, v.value);
      hi = std::max(hi, v.value);
    }
  }
  if (hi - lo <= 0) hi = lo + 1;
  return {lo, hi};
}

bool AnySuppressed(const BarChart& chart) {
  for (const BarRow& row : chart.rows) {
    for (const BarValue& v : row.layers) {
      if (v.suppressed) return true;
    }
  }
  return false;
}

std::string Legend(const BarChart& chart) {
  std::string svg;
  double x = kLabelWidth;
  for (size_t i = 0; i < chart.layer_names.size(); ++i) {
    absl::StrAppend(&svg, Rect(x, 5, 12, 12, i == 0 ? "bar0" : "bar1"),
                    Text(x + 16, 15, "start", chart.layer_names[i]));
    x += 30 + 7.0 * static_cast<double>(chart.layer_names[i].size());
  }
  if (AnySuppressed(chart)) {
    absl::StrAppend(&svg, Rect(x, 5, 12, 12, "suppressed-mark"), Text(x + 16, 15, "start", "suppressed"));
  }
  return svg;
}

}  // namespace

std::string BarChartSvg(const BarChart& chart) {
  const auto [lo, hi] = Range(chart);
  const double scale = kPlotWidth / (hi - lo);
  const double axis = kLabelWidth + (0 - lo) * scale;
  const double top = (chart.layer_names.empty() && !AnySuppressed(chart) ? 0 : kLegendHeight) + 4;
  const double width = kLabelWidth + kPlotWidth + kNoteWidth;
  const double height = top + kRowHeight * static_cast<double>(chart.rows.size()) + 4;
  std::string svg = absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"", Coordinate(width),
                                 "\" height=\"", Coordinate(height), "\" viewBox=\"0 0 ", Coordinate(width), " ",
                                 Coordinate(height), "\"><title>", EscapeHtml(chart.title), "</title>", Legend(chart));
  for (size_t r = 0; r < chart.rows.size(); ++r) {
    const BarRow& row = chart.rows[r];
    const double y = top + kRowHeight * static_cast<double>(r);
    const double bar_y = y + (kRowHeight - kBarHeight) / 2;
    absl::StrAppend(&svg, "<g><title>", EscapeHtml(row.label), ": ", EscapeHtml(row.note), "</title>",
                    Text(kLabelWidth - 6, y + 15, "end", ShortLabel(row.label)));
    bool any_released = false;
    for (size_t l = 0; l < row.layers.size(); ++l) {
      const BarValue& v = row.layers[l];
      if (v.suppressed || !std::isfinite(v.value)) continue;
      any_released = true;
      const double end = axis + v.value * scale;
      const double bar_width = std::max(std::fabs(end - axis), v.value == 0 ? 0.0 : 1.0);
      const char* css = v.value < 0 ? "neg" : (l == 0 ? "bar0" : "bar1");
      absl::StrAppend(&svg, Rect(std::min(axis, end), bar_y, bar_width, kBarHeight, css));
    }
    if (!any_released && !row.layers.empty()) {
      absl::StrAppend(&svg, Rect(axis, bar_y, kSuppressedMarkWidth, kBarHeight, "suppressed-mark"));
    }
    absl::StrAppend(&svg, Text(kLabelWidth + kPlotWidth + 8, y + 15, "start", row.note), "</g>");
  }
  absl::StrAppend(&svg, "<line class=\"axis\" x1=\"", Coordinate(axis), "\" y1=\"", Coordinate(top), "\" x2=\"",
                  Coordinate(axis), "\" y2=\"", Coordinate(height - 4), "\"/></svg>\n");
  return svg;
}

}  // namespace trelink::report
