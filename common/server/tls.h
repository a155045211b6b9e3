// mTLS credentials from files, for servers and clients.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

// Server credentials that require and verify a client certificate chaining
// to `client_ca_file`: a caller without one fails the TLS handshake.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(
    const trelink::v1::TlsConfig& tls);

struct ClientTlsFiles {
  std::string ca_file;           // CA the server's certificate must chain to
  std::string certificate_file;  // this client's certificate (empty: none)
  std::string private_key_file;
};

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(
    const ClientTlsFiles& files);

// A channel to `address` over mTLS with trelink's message size limit.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateMutualTlsChannel(const std::string& address,
                                                                      const ClientTlsFiles& files);

}  // namespace trelink
