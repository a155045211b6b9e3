// trelink-cli query and catalogue.
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/text_config.h"
#include "common/report/html_report.h"
#include "common/status/status_macros.h"
#include "services/cli/commands.h"
#include "trelink/v1/aggregate.grpc.pb.h"

namespace trelink {
namespace {

std::string StatusLabel(trelink::v1::CellStatus status) {
  switch (status) {
    case trelink::v1::RELEASED: return "released";
    case trelink::v1::ROUNDED: return "rounded";
    case trelink::v1::SUPPRESSED: return "suppressed";
    default: return "?";
  }
}

bool Suppressed(trelink::v1::CellStatus s) {
  return s != trelink::v1::RELEASED && s != trelink::v1::ROUNDED;
}

// "values...,count" lines written by trelink-truth.
std::map<std::string, uint64_t> ReadTruth(const std::string& path) {
  std::map<std::string, uint64_t> truth;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const size_t comma = line.rfind(',');
    if (comma == std::string::npos) {
      truth[""] = std::stoull(line);
    } else {
      truth[line.substr(0, comma)] = std::stoull(line.substr(comma + 1));
    }
  }
  return truth;
}

}  // namespace

absl::Status RunQuery(const Endpoint& aggregator, const std::string& query_file, const std::string& project,
                      OutputFormat format, const std::string& truth_file, uint32_t rounding_base,
                      const std::string& html_file) {
  // Every flag was checked before this (ValidateCliOptions): every answer is
  // logged and counts towards the release history, so a typo must not cost
  // a release.
  if (!html_file.empty()) TRELINK_RETURN_IF_ERROR(report::WriteHtmlFile(html_file, ""));
  trelink::v1::CountQuery query;
  TRELINK_RETURN_IF_ERROR(LoadTextConfig(query_file, query));
  if (!project.empty()) query.set_project(project);
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(aggregator));
  auto stub = trelink::v1::AggregateService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(aggregator.timeout_seconds));
  trelink::v1::CountTable table;
  TRELINK_RETURN_IF_ERROR(CallError(stub->Count(&context, query, &table), aggregator));
  if (!html_file.empty()) TRELINK_RETURN_IF_ERROR(report::WriteHtmlFile(html_file, report::CountTableHtml(table)));
  if (format == OutputFormat::kJson) {
    PrintStructured(FromMessage(table), format);
    return absl::OkStatus();
  }
  if (format == OutputFormat::kCsv) {
    const std::string csv = CountTableCsv(table);
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    return absl::OkStatus();
  }
  const std::map<std::string, uint64_t> truth = truth_file.empty() ? std::map<std::string, uint64_t>() : ReadTruth(truth_file);
  std::printf("%s\n  (linkage generation %llu, policy %s, disclosure log entry %llu)\n", table.query_name().c_str(),
              static_cast<unsigned long long>(table.generation()), table.policy_version().c_str(),
              static_cast<unsigned long long>(table.log_index()));
  std::vector<size_t> widths;
  for (const auto& d : table.dimensions()) widths.push_back(std::max<size_t>(d.size(), 9));
  std::string header = "  ";
  for (int d = 0; d < table.dimensions_size(); ++d) header += absl::StrFormat("%-*s ", widths[d], table.dimensions(d));
  header += absl::StrFormat("%9s  %-36s", "count", "status");
  if (!truth.empty()) header += absl::StrFormat(" %9s  %s", "true", "check");
  std::printf("%s\n", header.c_str());
  int mismatches = 0;
  for (const auto& cell : table.cells()) {
    std::string line = "  ";
    for (int d = 0; d < cell.values_size(); ++d) line += absl::StrFormat("%-*s ", widths[d], cell.values(d));
    line += absl::StrFormat("%9s  %-36s", Suppressed(cell.status()) ? "-" : absl::StrCat(cell.count()),
                            StatusLabel(cell.status()));
    if (!truth.empty()) {
      auto it = truth.find(absl::StrJoin(cell.values(), ","));
      if (it != truth.end()) {
        // Released cells are rounded to the base: within half a base of the truth.
        const uint64_t t = it->second;
        const bool ok = Suppressed(cell.status()) ||
                        (cell.count() + rounding_base / 2 >= t && t + rounding_base / 2 >= cell.count());
        if (!ok) ++mismatches;
        line += absl::StrFormat(" %9llu  %s", static_cast<unsigned long long>(t),
                                Suppressed(cell.status()) ? "suppressed" : (ok ? "within rounding" : "OFF"));
      }
    }
    std::printf("%s\n", line.c_str());
  }
  if (mismatches > 0) {
    std::printf("  %d released cells differ from the truth by more than rounding (linkage errors; in dp mode, noise)\n",
                mismatches);
  }
  return absl::OkStatus();
}

absl::Status PrintCatalogue(const Endpoint& aggregator, const std::string& project, OutputFormat format) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(aggregator));
  auto stub = trelink::v1::AggregateService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(aggregator.timeout_seconds));
  trelink::v1::CatalogueDescription description;
  trelink::v1::DescribeCatalogueRequest request;
  request.set_project(project);
  TRELINK_RETURN_IF_ERROR(CallError(stub->DescribeCatalogue(&context, request, &description), aggregator));
  if (format != OutputFormat::kText) {
    PrintStructured(FromMessage(description), format);
    return absl::OkStatus();
  }
  const auto& p = description.policy();
  if (p.mode() == trelink::v1::DisclosurePolicy::DP) {
    std::printf("disclosure policy %s (dp): noise of epsilon %.3f per query, budget %.3f, each person in at most %u "
                "cells; then threshold %u, rounding base %u, max %u cells\n",
                p.version().c_str(), p.dp().epsilon_per_query_micro() / 1e6, p.dp().budget_micro() / 1e6,
                p.dp().max_contributions(), p.threshold(), p.rounding_base(), p.max_cells());
  } else {
    std::printf("disclosure policy %s (sdc): threshold %u, rounding base %u, zeros %s, release audit on, group "
                "disclosure check %s, max %u cells\n",
                p.version().c_str(), p.threshold(), p.rounding_base(), p.release_zeros() ? "released" : "suppressed",
                p.group_disclosure_check() ? "on" : "off", p.max_cells());
  }
  for (const auto& d : description.catalogue().datasets()) {
    std::printf("dataset %s (roles %s)\n  events: %s\n", d.name().c_str(), absl::StrJoin(d.roles(), ", ").c_str(),
                absl::StrJoin(d.events(), ", ").c_str());
    for (const auto& a : d.attributes()) {
      if (!a.groupable()) continue;
      std::printf("  dimension %s: %s\n", a.name().c_str(),
                  a.type() == trelink::v1::AttributeSpec::INTEGER
                      ? absl::StrCat(a.min(), "..", a.max()).c_str()
                      : absl::StrJoin(a.allowed_values(), ", ").c_str());
    }
  }
  if (description.generation() != 0) {
    std::printf("project %s: counts come from linkage generation %llu; released counts carry linkage error as well "
                "as rounding\n",
                project.c_str(), static_cast<unsigned long long>(description.generation()));
    PrintQuality(description.linkage_quality());
  }
  if (description.has_privacy_budget()) {
    const auto& budget = description.privacy_budget();
    std::printf("project %s: privacy budget epsilon %.2f of %.2f spent (%.2f per new query; a query asked again "
                "is answered from its earlier answer at no cost)\n",
                project.c_str(), budget.spent_micro() / 1e6, budget.budget_micro() / 1e6,
                budget.epsilon_per_query_micro() / 1e6);
  }
  return absl::OkStatus();
}

}  // namespace trelink
