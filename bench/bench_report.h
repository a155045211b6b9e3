// What every benchmark driver prints: one JSON object per measurement on
// stdout (name, unit, value), collected by bench/run.sh.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace trelink {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
