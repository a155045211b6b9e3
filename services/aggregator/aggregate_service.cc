#include "services/aggregator/aggregate_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/grpc_status.h"
#include "common/server/service_host.h"

namespace trelink {
namespace {

void ToProof(const std::vector<Hash>& hashes, trelink::v1::Proof* proof) {
  for (const Hash& h : hashes) proof->add_hashes(std::string(h.begin(), h.end()));
}

// Streams log entries [start, end).
class EntriesReactor final : public grpc::ServerWriteReactor<trelink::v1::RawLogEntry> {
 public:
  EntriesReactor(DisclosureLog& log, uint64_t start, uint64_t end) : log_(log), next_(start), end_(end) { Next(); }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ >= end_) {
      Finish(grpc::Status::OK);
      return;
    }
    absl::StatusOr<std::string> bytes = log_.Entry(next_);
    if (!bytes.ok()) {
      Finish(ToGrpcStatus(bytes.status()));
      return;
    }
    entry_.set_index(next_++);
    entry_.set_entry(*std::move(bytes));
    StartWrite(&entry_);
  }
  DisclosureLog& log_;
  uint64_t next_, end_;
  trelink::v1::RawLogEntry entry_;
};

// A call is gone once its deadline has passed (checked first: gRPC also
// marks such a call cancelled) or its client cancelled it. The context lives
// until the reactor finishes, so the worker may consult it until then.
CallState CallStateOf(grpc::CallbackServerContext& context) {
  return [&context]() -> absl::Status {
    if (std::chrono::system_clock::now() >= context.deadline()) {
      return absl::DeadlineExceededError("Count: the client's deadline passed; nothing was released or logged");
    }
    if (context.IsCancelled()) return absl::CancelledError("Count: the client cancelled; nothing was released or logged");
    return absl::OkStatus();
  };
}

// Calls over a rate limit are counted, not logged; a line at 1, 2, 4, 8, ...
// refusals keeps the service log bounded.
void NoteRateLimited(const CallRateLimit& limit) {
  const uint64_t refused = limit.refused();
  if ((refused & (refused - 1)) == 0) {
    LogInfo(absl::StrCat("Count: ", refused, " calls refused so far over their caller's rate limit"));
  }
}

class RefusedEntries final : public grpc::ServerWriteReactor<trelink::v1::RawLogEntry> {
 public:
  explicit RefusedEntries(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* AggregateServiceImpl::DescribeCatalogue(grpc::CallbackServerContext* context,
                                                                  const trelink::v1::DescribeCatalogueRequest* request,
                                                                  trelink::v1::CatalogueDescription* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<trelink::v1::CatalogueDescription> description =
      handler_.DescribeCatalogue(PeerIdentity(*context), request->project());
  if (description.ok()) *response = *std::move(description);
  reactor->Finish(ToGrpcStatus(description.status()));
  return reactor;
}

grpc::ServerUnaryReactor* AggregateServiceImpl::Count(grpc::CallbackServerContext* context,
                                                      const trelink::v1::CountQuery* query,
                                                      trelink::v1::CountTable* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string identity = PeerIdentity(*context);
  if (absl::Status admitted = count_limit_.Admit(identity); !admitted.ok()) {
    NoteRateLimited(count_limit_);
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  workers_.Submit([this, context, reactor, query, response, identity = std::move(identity)] {
    absl::StatusOr<trelink::v1::CountTable> table = handler_.Count(identity, *query, CallStateOf(*context));
    if (table.ok()) *response = *std::move(table);
    reactor->Finish(ToGrpcStatus(table.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetCheckpoint(grpc::CallbackServerContext* context,
                                                          const trelink::v1::GetCheckpointRequest*,
                                                          trelink::v1::Checkpoint* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status allowed = handler_.AuthorizeAudit(PeerIdentity(*context), "GetCheckpoint");
  if (allowed.ok()) {
    response->set_signed_note(handler_.log().Checkpoint());
    response->set_size(handler_.log().size());
    const Hash root = handler_.log().Root();
    response->set_root_hash(std::string(root.begin(), root.end()));
  }
  reactor->Finish(ToGrpcStatus(allowed));
  return reactor;
}

grpc::ServerWriteReactor<trelink::v1::RawLogEntry>* AuditServiceImpl::GetEntries(
    grpc::CallbackServerContext* context, const trelink::v1::GetEntriesRequest* request) {
  absl::Status allowed = handler_.AuthorizeAudit(PeerIdentity(*context), "GetEntries");
  if (!allowed.ok()) return new RefusedEntries(allowed);
  const uint64_t size = handler_.log().size();
  const uint64_t end = request->end() == 0 ? size : std::min(request->end(), size);
  if (request->start() > end) return new RefusedEntries(absl::InvalidArgumentError("start: after end"));
  return new EntriesReactor(handler_.log(), request->start(), end);
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetInclusionProof(grpc::CallbackServerContext* context,
                                                              const trelink::v1::GetInclusionProofRequest* request,
                                                              trelink::v1::Proof* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = handler_.AuthorizeAudit(PeerIdentity(*context), "GetInclusionProof");
  if (status.ok()) {
    auto proof = handler_.log().InclusionProof(request->index(), request->tree_size());
    status = proof.status();
    if (proof.ok()) ToProof(*proof, response);
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetConsistencyProof(grpc::CallbackServerContext* context,
                                                                const trelink::v1::GetConsistencyProofRequest* request,
                                                                trelink::v1::Proof* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = handler_.AuthorizeAudit(PeerIdentity(*context), "GetConsistencyProof");
  if (status.ok()) {
    auto proof = handler_.log().ConsistencyProof(request->old_size(), request->new_size());
    status = proof.status();
    if (proof.ok()) ToProof(*proof, response);
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace trelink
