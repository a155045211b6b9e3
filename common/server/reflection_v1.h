// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), which
// current tools (grpcurl, Postman, grpc_cli) try before v1alpha. Debian 12's
// libgrpc++_reflection serves only v1alpha and installs neither its service
// class nor its stubs, so there is nothing to forward to: this is a small
// implementation over the generated descriptor pool, as v1alpha's is. It
// lists every service the server has, the two reflection services and health
// included.
#pragma once

#include <grpcpp/server_builder.h>

#include <memory>
#include <string>
#include <vector>

namespace trelink {

// The names of the services a server offers, known once it is built.
class ServedServices {
 public:
  // Fully qualified names ("trelink.v1.AggregateService"); empty before the
  // server is built.
  std::vector<std::string> names() const { return names_ == nullptr ? std::vector<std::string>{} : *names_; }

 private:
  friend class ReflectionV1Plugin;
  const std::vector<std::string>* names_ = nullptr;  // the server's own list
};

// Serves reflection v1 on the server `builder` builds. The result lives as
// long as the server does.
std::shared_ptr<const ServedServices> AddReflectionV1(grpc::ServerBuilder& builder);

}  // namespace trelink
