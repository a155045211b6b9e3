// gRPC adapter for PseudonymService (callback API).
#pragma once

#include "services/pseudonymiser/pseudonym_handler.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {

class PseudonymServiceImpl final : public trelink::v1::PseudonymService::CallbackService {
 public:
  explicit PseudonymServiceImpl(const PseudonymHandler& handler) : handler_(handler) {}

  grpc::ServerBidiReactor<trelink::v1::PseudonymiseBatchRequest, trelink::v1::PseudonymiseBatchResponse>*
  PseudonymiseStream(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* Pseudonymise(grpc::CallbackServerContext* context,
                                         const trelink::v1::PseudonymiseBatchRequest* request,
                                         trelink::v1::PseudonymiseBatchResponse* response) override;

  grpc::ServerUnaryReactor* GetKeyInfo(grpc::CallbackServerContext* context,
                                       const trelink::v1::GetKeyInfoRequest* request,
                                       trelink::v1::GetKeyInfoResponse* response) override;

 private:
  const PseudonymHandler& handler_;
};

}  // namespace trelink
