// gRPC adapters for AggregateService and AuditService (callback API). Count
// runs on a worker pool: it evaluates and fsyncs the disclosure log, which
// must not hold gRPC's threads. A Count over its caller's rate limit is
// refused before it takes a worker, and is not logged.
#pragma once

#include "common/access/call_rate_limit.h"
#include "common/server/worker_pool.h"
#include "services/aggregator/aggregate_handler.h"
#include "trelink/v1/aggregate.grpc.pb.h"
#include "trelink/v1/disclosure_log.grpc.pb.h"

namespace trelink {

class AggregateServiceImpl final : public trelink::v1::AggregateService::CallbackService {
 public:
  AggregateServiceImpl(AggregateHandler& handler, CallRateLimit& count_limit)
      : handler_(handler), count_limit_(count_limit), workers_(2) {}

  grpc::ServerUnaryReactor* DescribeCatalogue(grpc::CallbackServerContext* context,
                                              const trelink::v1::DescribeCatalogueRequest* request,
                                              trelink::v1::CatalogueDescription* response) override;
  grpc::ServerUnaryReactor* Count(grpc::CallbackServerContext* context, const trelink::v1::CountQuery* query,
                                  trelink::v1::CountTable* response) override;

 private:
  AggregateHandler& handler_;
  CallRateLimit& count_limit_;
  WorkerPool workers_;
};

class AuditServiceImpl final : public trelink::v1::AuditService::CallbackService {
 public:
  explicit AuditServiceImpl(AggregateHandler& handler) : handler_(handler) {}

  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const trelink::v1::GetCheckpointRequest* request,
                                          trelink::v1::Checkpoint* response) override;
  grpc::ServerWriteReactor<trelink::v1::RawLogEntry>* GetEntries(grpc::CallbackServerContext* context,
                                                                 const trelink::v1::GetEntriesRequest* request) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* context,
                                              const trelink::v1::GetInclusionProofRequest* request,
                                              trelink::v1::Proof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* context,
                                                const trelink::v1::GetConsistencyProofRequest* request,
                                                trelink::v1::Proof* response) override;

 private:
  AggregateHandler& handler_;
};

}  // namespace trelink
