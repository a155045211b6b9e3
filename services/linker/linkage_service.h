// gRPC adapter for LinkageService (callback API). Linkage runs and ingest
// transactions run on worker pools, never on the RPC threads.
#pragma once

#include "common/server/worker_pool.h"
#include "services/linker/linkage_handler.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {

class LinkageServiceImpl final : public trelink::v1::LinkageService::CallbackService {
 public:
  // Linkage runs off the RPC threads on a pool of two: one for a run, one so
  // that a second request is answered at once with "already in progress"
  // (the handler allows one run at a time). Ingest transactions run on a
  // pool of their own, so a long linkage run never holds them up. The pools
  // wait for work still going when the service is destroyed.
  explicit LinkageServiceImpl(LinkageHandler& handler) : handler_(handler), workers_(2), store_workers_(2) {}

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
  WorkerPool workers_;
  WorkerPool store_workers_;
};

}  // namespace trelink
