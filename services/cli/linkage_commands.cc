// trelink-cli link and report.
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/report/html_report.h"
#include "common/status/status_macros.h"
#include "services/cli/commands.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {
namespace {

std::string Count(const trelink::v1::ReportCount& c) {
  return c.suppressed() ? std::string("<suppressed>") : absl::StrCat(c.value());
}

void PrintReport(const trelink::v1::LinkageReport& r, OutputFormat format) {
  if (format != OutputFormat::kText) {
    PrintStructured(FromMessage(r), format);
    return;
  }
  std::printf("linkage generation %llu of project %s (%s, %.1f s; counts below %u suppressed)\n",
              static_cast<unsigned long long>(r.generation()), r.project().c_str(), r.created_at().c_str(),
              r.seconds(), r.disclosure_threshold());
  std::printf("  records %s, participants %s, persons %s; records whose participants share an NHS number %s\n",
              Count(r.records()).c_str(), Count(r.participants()).c_str(), Count(r.persons()).c_str(),
              Count(r.records_sharing_nhs_number()).c_str());
  if (r.mode() == "incremental") {
    std::printf("  incremental: linked %s new or released participants into the persons of generation %llu; model "
                "and quality estimate of full generation %llu\n",
                Count(r.participants_relinked()).c_str(), static_cast<unsigned long long>(r.generation() - 1),
                static_cast<unsigned long long>(r.fitted_at_generation()));
  }
  if (r.has_lineage()) {
    const auto& l = r.lineage();
    std::printf("  person ids: kept %s, new %s, merged away %s, split off %s, left %s\n", Count(l.kept()).c_str(),
                Count(l.new_persons()).c_str(), Count(l.merged()).c_str(), Count(l.split()).c_str(),
                Count(l.left()).c_str());
  }
  std::printf("  %-30s %-12s %14s %14s %10s %10s %10s %10s\n", "pass", "dataset", "participants", "newly linked",
              "merges", "refused", "overshared", "reviewed");
  for (const auto& p : r.passes()) {
    const bool all = p.dataset().empty();
    std::printf("  %-30s %-12s %14s %14s %10s %10s %10s %10s\n", p.name().c_str(), all ? "(all)" : p.dataset().c_str(),
                Count(p.participants_in()).c_str(), Count(p.participants_linked()).c_str(),
                all ? Count(p.merges()).c_str() : "", all ? Count(p.merges_refused()).c_str() : "",
                p.has_overshared_keys() ? Count(p.overshared_keys()).c_str() : "",
                p.has_pairs_reviewed() ? Count(p.pairs_reviewed()).c_str() : "");
  }
  if (r.has_opt_out()) {
    const auto& o = r.opt_out();
    std::printf("  national data opt-out: list %s (%llu numbers); persons excluded %s; records excluded",
                o.list_version().c_str(), static_cast<unsigned long long>(o.numbers_in_list()),
                Count(o.persons_excluded()).c_str());
    for (const auto& d : o.records_excluded()) std::printf(" %s %s", d.dataset().c_str(), Count(d.count()).c_str());
    std::printf("%s\n", o.records_excluded().empty() ? " none" : "");
  }
  if (r.has_quality()) PrintQuality(r.quality());
  if (r.has_probabilistic()) {
    const auto& f = r.probabilistic();
    std::printf("  Fellegi-Sunter: %llu candidate pairs, EM %u iterations, prior %.3g, threshold weight %.2f,"
                " accepted pairs %s\n",
                static_cast<unsigned long long>(f.candidate_pairs()), f.em_iterations(), f.match_prior(),
                f.threshold_weight(), Count(f.accepted_pairs()).c_str());
    std::printf("    match weight log2(m/u) per level (u from random pairs, m by EM):\n");
    for (const auto& w : f.weights()) {
      std::printf("    %-14s%s", w.field().c_str(), w.term_frequency() ? " (first level adjusted per value)" : "");
      for (int l = 0; l < w.levels_size(); ++l) {
        std::printf("  %s %+.1f (m=%.3f u=%.4f)", w.levels(l).c_str(), l < w.match_weight_size() ? w.match_weight(l) : 0.0,
                    w.m(l), w.u(l));
      }
      std::printf("\n");
    }
  }
}

}  // namespace

absl::Status RunLinkageCommand(const Endpoint& linker, const std::string& project, bool full, OutputFormat format) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(linker));
  auto stub = trelink::v1::LinkageService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(linker.timeout_seconds));
  trelink::v1::RunLinkageRequest request;
  request.set_project(project);
  request.set_full(full);
  trelink::v1::LinkageReport report;
  TRELINK_RETURN_IF_ERROR(CallError(stub->RunLinkage(&context, request, &report), linker));
  PrintReport(report, format);
  return absl::OkStatus();
}

absl::Status PrintLinkageReport(const Endpoint& linker, const std::string& project, OutputFormat format,
                                const std::string& html_file) {
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(linker));
  auto stub = trelink::v1::LinkageService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(linker.timeout_seconds));
  trelink::v1::GetLinkageReportRequest request;
  request.set_project(project);
  trelink::v1::LinkageReport report;
  TRELINK_RETURN_IF_ERROR(CallError(stub->GetLinkageReport(&context, request, &report), linker));
  PrintReport(report, format);
  if (html_file.empty()) return absl::OkStatus();
  return report::WriteHtmlFile(html_file, report::LinkageReportHtml(report));
}

void PrintQuality(const trelink::v1::QualityReport& q) {
  std::printf("  estimated quality (pairwise; %s)\n", q.method().empty() ? "no method applied" : q.method().c_str());
  std::printf("    %-52s %10s %10s %12s  %s\n", "scope", "precision", "recall", "gold pairs", "how");
  for (const auto& e : q.estimates()) {
    if (!e.estimated()) {
      std::printf("    %-52s %10s %10s %12s  %s\n", e.scope().c_str(), "-", "-", "-", e.method().c_str());
      continue;
    }
    std::printf("    %-52s %10.4f %10.4f %12s  %s\n", e.scope().c_str(), e.precision(), e.recall(),
                Count(e.gold_pairs()).c_str(), e.method().c_str());
  }
  if (q.subgroups().empty()) return;
  std::printf("  linkage errors by subgroup (%s hidden; rates of pairs, per participant carrying it)\n",
              q.gold_token().c_str());
  std::printf("    %-14s %-32s %12s %12s %12s\n", "attribute", "value", "participants", "missed", "false");
  for (const auto& g : q.subgroups()) {
    const char* value = g.value().empty() ? "(none)" : g.value().c_str();
    if (g.participants().suppressed()) {
      std::printf("    %-14s %-32s %12s %12s %12s\n", g.attribute().c_str(), value, "<suppressed>", "-", "-");
      continue;
    }
    std::printf("    %-14s %-32s %12llu %12.4f %12.4f\n", g.attribute().c_str(), value,
                static_cast<unsigned long long>(g.participants().value()), g.missed_link_rate(), g.false_link_rate());
  }
}

}  // namespace trelink
