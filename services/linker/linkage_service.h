// gRPC adapter for LinkageService (callback API). Linkage runs and ingest
// transactions run on worker pools, never on the RPC threads.
#pragma once

#include "common/server/worker_pool.h"
#include "services/linker/linkage_handler.h"
#include "trelink/v1/linkage.grpc.pb.h"

namespace trelink {

// Ingest takes raw bytes and parses them itself: a message gRPC cannot parse
// otherwise reads as the end of the stream, and the call ended OK with
// nothing stored.
using LinkageServiceBase = trelink::v1::LinkageService::WithRawCallbackMethod_Ingest<
    trelink::v1::LinkageService::WithCallbackMethod_RunLinkage<
        trelink::v1::LinkageService::WithCallbackMethod_GetLinkageReport<
            trelink::v1::LinkageService::WithCallbackMethod_Withdraw<
                trelink::v1::LinkageService::WithCallbackMethod_ApplyOptOut<trelink::v1::LinkageService::Service>>>>>;

class LinkageServiceImpl final : public LinkageServiceBase {
 public:
  // Linkage runs off the RPC threads on a pool of two: one for a run, one so
  // that a second request is answered at once with "already in progress"
  // (the handler allows one run at a time). Ingest transactions run on a
  // pool of their own, so a long linkage run never holds them up. The pools
  // wait for work still going when the service is destroyed.
  explicit LinkageServiceImpl(LinkageHandler& handler) : handler_(handler), workers_(2), store_workers_(2) {}

  // Reads IngestBatchRequest messages, answers one IngestResponse.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Ingest(grpc::CallbackServerContext* context,
                                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RunLinkage(grpc::CallbackServerContext* context,
                                       const trelink::v1::RunLinkageRequest* request,
                                       trelink::v1::LinkageReport* response) override;
  grpc::ServerUnaryReactor* GetLinkageReport(grpc::CallbackServerContext* context,
                                             const trelink::v1::GetLinkageReportRequest* request,
                                             trelink::v1::LinkageReport* response) override;

  grpc::ServerUnaryReactor* Withdraw(grpc::CallbackServerContext* context,
                                     const trelink::v1::WithdrawRequest* request,
                                     trelink::v1::WithdrawResponse* response) override;

  grpc::ServerUnaryReactor* ApplyOptOut(grpc::CallbackServerContext* context,
                                        const trelink::v1::OptOutRequest* request,
                                        trelink::v1::OptOutResponse* response) override;

 private:
  template <typename Response, typename Work>
  grpc::ServerUnaryReactor* OnStoreWorkers(grpc::CallbackServerContext* context, Response* response, Work work);

  LinkageHandler& handler_;
  WorkerPool workers_;
  WorkerPool store_workers_;
};

}  // namespace trelink
