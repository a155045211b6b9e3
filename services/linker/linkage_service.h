// gRPC adapter for LinkageService (callback API). Linkage runs on a thread
// of its own, never on the RPC threads.
#pragma once

#include <mutex>
#include <thread>
#include <vector>

#include "services/linker/linkage_handler.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {

class LinkageServiceImpl final : public trelink::v1::LinkageService::CallbackService {
 public:
  explicit LinkageServiceImpl(LinkageHandler& handler) : handler_(handler) {}
  // Waits for linkage runs still going.
  ~LinkageServiceImpl() override;

  grpc::ServerReadReactor<trelink::v1::IngestBatchRequest>* Ingest(grpc::CallbackServerContext* context,
                                                                   trelink::v1::IngestResponse* response) override;
  grpc::ServerUnaryReactor* RunLinkage(grpc::CallbackServerContext* context,
                                       const trelink::v1::RunLinkageRequest* request,
                                       trelink::v1::LinkageReport* response) override;
  grpc::ServerUnaryReactor* GetLinkageReport(grpc::CallbackServerContext* context,
                                             const trelink::v1::GetLinkageReportRequest* request,
                                             trelink::v1::LinkageReport* response) override;

 private:
  LinkageHandler& handler_;
  std::mutex workers_mu_;
  std::vector<std::thread> workers_;
};

}  // namespace trelink
