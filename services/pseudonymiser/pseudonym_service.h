// gRPC adapter for PseudonymService (callback API).
#pragma once

#include "services/pseudonymiser/pseudonym_handler.h"
#include "trelink/v1/pseudonym.grpc.pb.h"

namespace trelink {

// PseudonymiseStream takes raw bytes and parses them itself: a message gRPC
// cannot parse otherwise reads as the end of the stream, and the call ended
// OK with the rest of the file never pseudonymised.
using PseudonymServiceBase = trelink::v1::PseudonymService::WithRawCallbackMethod_PseudonymiseStream<
    trelink::v1::PseudonymService::WithCallbackMethod_Pseudonymise<
        trelink::v1::PseudonymService::WithCallbackMethod_GetKeyInfo<trelink::v1::PseudonymService::Service>>>;

class PseudonymServiceImpl final : public PseudonymServiceBase {
 public:
  explicit PseudonymServiceImpl(const PseudonymHandler& handler) : handler_(handler) {}

  // Reads PseudonymiseBatchRequest messages and answers each with a
  // PseudonymiseBatchResponse, in order; a message that does not parse ends
  // the call with INVALID_ARGUMENT.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* PseudonymiseStream(
      grpc::CallbackServerContext* context) override;

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
