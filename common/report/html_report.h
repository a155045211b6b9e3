// The linkage report and the aggregator's count tables as self-contained
// HTML pages (inline CSS and SVG; no script, no fetch), for researchers and
// information governance boards to look at. What the text reports show, as
// tables and charts; suppressed counts appear only as marked "<k" cells,
// never as numbers. Every string from config or a service is escaped.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "trelink/v1/aggregate.pb.h"
#include "trelink/v1/linkage.pb.h"

namespace trelink::report {

// The whole linkage report: summary, mode and lineage, the linkage waterfall
// per pass and dataset, match weights per comparison level, estimated
// precision/recall with their method, linkage errors by subgroup, opt-out.
std::string LinkageReportHtml(const trelink::v1::LinkageReport& report);

// A released count table: its provenance (generation, policy, disclosure
// log entry), the cells as a table and the non-margin cells as a bar chart.
std::string CountTableHtml(const trelink::v1::CountTable& table);

// Writes `html` to `path` (replacing it); the error names the file.
absl::Status WriteHtmlFile(const std::string& path, const std::string& html);

}  // namespace trelink::report
