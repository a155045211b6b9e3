#include "services/pseudonymiser/pseudonym_service.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/grpc_status.h"
#include "common/server/service_host.h"

namespace trelink {
namespace {

using trelink::v1::PseudonymiseBatchRequest;
using trelink::v1::PseudonymiseBatchResponse;

// One bulk stream: read a batch, pseudonymise it, write its sealed result,
// read the next. The stream ends with the first error, and so does a message
// that does not parse.
class BulkPseudonymiseReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  BulkPseudonymiseReactor(const PseudonymHandler& handler, std::string identity)
      : handler_(handler), identity_(std::move(identity)) {
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side: every batch is answered
      End(grpc::Status::OK);
      return;
    }
    request_.Clear();
    if (!grpc::SerializationTraits<PseudonymiseBatchRequest>::Deserialize(&request_bytes_, &request_).ok()) {
      End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("message ", batches_ + 1, ": not a valid PseudonymiseBatchRequest")));
      return;
    }
    response_.Clear();
    absl::Status status = handler_.Pseudonymise(identity_, request_, response_);
    if (!status.ok()) {
      End(ToGrpcStatus(status));
      return;
    }
    bool own_buffer = false;
    response_bytes_.Clear();  // the last write is done; Serialize wants an empty buffer
    grpc::Status serialised =
        grpc::SerializationTraits<PseudonymiseBatchResponse>::Serialize(response_, &response_bytes_, &own_buffer);
    if (!serialised.ok()) {
      End(serialised);
      return;
    }
    ++batches_;
    records_ += static_cast<uint64_t>(request_.records_size());
    StartWrite(&response_bytes_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    StartRead(&request_bytes_);
  }

  void OnDone() override { delete this; }

 private:
  void End(const grpc::Status& status) {
    LogInfo(absl::StrCat("PseudonymiseStream from \"", identity_, "\": ", batches_, " batches, ", records_,
                         " records, status ", status.error_code()));
    Finish(status);
  }

  const PseudonymHandler& handler_;
  const std::string identity_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
  PseudonymiseBatchRequest request_;
  PseudonymiseBatchResponse response_;
  uint64_t batches_ = 0;
  uint64_t records_ = 0;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* PseudonymServiceImpl::PseudonymiseStream(grpc::CallbackServerContext* context) {
  return new BulkPseudonymiseReactor(handler_, PeerIdentity(*context));
}

grpc::ServerUnaryReactor* PseudonymServiceImpl::Pseudonymise(grpc::CallbackServerContext* context,
                                                             const PseudonymiseBatchRequest* request,
                                                             PseudonymiseBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(handler_.Pseudonymise(PeerIdentity(*context), *request, *response)));
  return reactor;
}

grpc::ServerUnaryReactor* PseudonymServiceImpl::GetKeyInfo(grpc::CallbackServerContext* context,
                                                           const trelink::v1::GetKeyInfoRequest* request,
                                                           trelink::v1::GetKeyInfoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(handler_.GetKeyInfo(PeerIdentity(*context), *request, *response)));
  return reactor;
}

}  // namespace trelink
