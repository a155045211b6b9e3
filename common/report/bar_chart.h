// Horizontal bar charts as inline SVG, for the HTML reports. A bar's length
// comes only from a released value: a suppressed value draws a fixed-size
// dashed marker, so a chart never encodes what a table withholds.
#pragma once

#include <string>
#include <vector>

namespace trelink::report {

struct BarValue {
  double value = 0;  // may be negative (bars then grow left of the axis)
  bool suppressed = false;
};

// One row: a label, bars drawn from the axis in order (a later layer over an
// earlier one, e.g. newly linked over participants in), and a note beside them.
struct BarRow {
  std::string label;
  std::vector<BarValue> layers;
  std::string note;
};

struct BarChart {
  std::string title;                     // the chart's accessible name
  std::vector<std::string> layer_names;  // the legend, one per layer; empty: none
  std::vector<BarRow> rows;
  // The axis covers at least [axis_min, axis_max], so charts drawn with the
  // same range share one scale.
  double axis_min = 0;
  double axis_max = 0;
};

// The chart as an <svg> element; every text in it is escaped.
std::string BarChartSvg(const BarChart& chart);

}  // namespace trelink::report
