// What every benchmark driver prints: one JSON object per measurement on
// stdout (name, unit, value), collected by bench/run.sh.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace trelink {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The q-quantile (0 <= q <= 1) of `values`, nearest rank; 0 when empty.
inline double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())))];
}

inline void Report(const std::string& name, double value, const std::string& unit) {
  std::printf("{\"name\": \"%s\", \"unit\": \"%s\", \"value\": %.6g}\n", name.c_str(), unit.c_str(), value);
  std::fflush(stdout);
}

// A measurement meant as a ratio against another one.
inline void ReportRatio(const std::string& name, double value, const std::string& reference) {
  std::printf("{\"name\": \"%s\", \"unit\": \"ratio\", \"value\": %.3f, \"reference\": \"%s\"}\n", name.c_str(), value,
              reference.c_str());
  std::fflush(stdout);
}

}  // namespace trelink
