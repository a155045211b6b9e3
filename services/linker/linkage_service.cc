#include "services/linker/linkage_service.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/grpc_status.h"
#include "common/server/service_host.h"

namespace trelink {
namespace {

// Reads batches and stores each as it arrives; the first bad batch ends the
// call with its error (batches before it stay stored), and so does a message
// that does not parse. Storing (a SQLite transaction) runs on the store
// workers, never on a gRPC thread; the next read starts only when the batch
// is stored, so batches keep their order.
class IngestReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  IngestReactor(const LinkageHandler& handler, WorkerPool& store_workers, std::string identity,
                grpc::ByteBuffer* response)
      : handler_(handler), store_workers_(store_workers), identity_(std::move(identity)), response_(response) {
    StartRead(&bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End(grpc::Status::OK);
      return;
    }
    if (!grpc::SerializationTraits<trelink::v1::IngestBatchRequest>::Deserialize(&bytes_, &request_).ok()) {
      End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("message ", result_.batches_size() + 1, ": not a valid IngestBatchRequest")));
      return;
    }
    // The reactor lives until Finish, which only Store() can reach now.
    store_workers_.Submit([this] { Store(); });
  }

  void OnDone() override { delete this; }

 private:
  void Store() {
    absl::StatusOr<trelink::v1::BatchResult> result = handler_.Ingest(identity_, request_);
    if (!result.ok()) {
      End(ToGrpcStatus(result.status()));
      return;
    }
    if (!result->already_stored()) result_.set_records_stored(result_.records_stored() + result->records());
    *result_.add_batches() = *std::move(result);
    StartRead(&bytes_);
  }

  void End(grpc::Status status) {
    bool own_buffer = false;
    if (status.ok()) {
      status = grpc::SerializationTraits<trelink::v1::IngestResponse>::Serialize(result_, response_, &own_buffer);
    }
    LogInfo(absl::StrCat("Ingest from \"", identity_, "\": ", result_.batches_size(), " batches, ",
                         result_.records_stored(), " records stored, status ", status.error_code()));
    Finish(status);
  }

  const LinkageHandler& handler_;
  WorkerPool& store_workers_;
  const std::string identity_;
  grpc::ByteBuffer* response_;
  grpc::ByteBuffer bytes_;
  trelink::v1::IngestBatchRequest request_;
  trelink::v1::IngestResponse result_;
};

}  // namespace

grpc::ServerReadReactor<grpc::ByteBuffer>* LinkageServiceImpl::Ingest(grpc::CallbackServerContext* context,
                                                                      grpc::ByteBuffer* response) {
  return new IngestReactor(handler_, store_workers_, PeerIdentity(*context), response);
}

grpc::ServerUnaryReactor* LinkageServiceImpl::RunLinkage(grpc::CallbackServerContext* context,
                                                         const trelink::v1::RunLinkageRequest* request,
                                                         trelink::v1::LinkageReport* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string identity = PeerIdentity(*context);
  workers_.Submit([this, reactor, request, response, identity = std::move(identity)] {
    absl::StatusOr<trelink::v1::LinkageReport> report = handler_.RunLinkage(identity, *request);
    if (report.ok()) *response = *std::move(report);
    reactor->Finish(ToGrpcStatus(report.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* LinkageServiceImpl::GetLinkageReport(grpc::CallbackServerContext* context,
                                                               const trelink::v1::GetLinkageReportRequest* request,
                                                               trelink::v1::LinkageReport* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<trelink::v1::LinkageReport> report = handler_.GetReport(PeerIdentity(*context), *request);
  if (report.ok()) *response = *std::move(report);
  reactor->Finish(ToGrpcStatus(report.status()));
  return reactor;
}

// A unary call whose work is a store transaction: run on the store workers
// like ingest, never on a gRPC thread.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* LinkageServiceImpl::OnStoreWorkers(grpc::CallbackServerContext* context,
                                                             Response* response, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_workers_.Submit([reactor, response, work = std::move(work), identity = PeerIdentity(*context)] {
    absl::StatusOr<Response> result = work(identity);
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* LinkageServiceImpl::Withdraw(grpc::CallbackServerContext* context,
                                                       const trelink::v1::WithdrawRequest* request,
                                                       trelink::v1::WithdrawResponse* response) {
  return OnStoreWorkers(context, response,
                        [this, request](const std::string& identity) { return handler_.Withdraw(identity, *request); });
}

grpc::ServerUnaryReactor* LinkageServiceImpl::ApplyOptOut(grpc::CallbackServerContext* context,
                                                          const trelink::v1::OptOutRequest* request,
                                                          trelink::v1::OptOutResponse* response) {
  return OnStoreWorkers(context, response, [this, request](const std::string& identity) {
    return handler_.ApplyOptOut(identity, *request);
  });
}

}  // namespace trelink
