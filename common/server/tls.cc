#include "common/server/tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "common/config/text_config.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

constexpr int kMaxClientMessageBytes = 32 << 20;

absl::Status ReadPem(const std::string& path, const char* field, std::string& out) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  absl::Status read = ReadFileToString(path, out);
  if (!read.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", read.message()));
  if (out.find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", path, " is not a PEM file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(
    const trelink::v1::TlsConfig& tls) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  TRELINK_RETURN_IF_ERROR(ReadPem(tls.certificate_file(), "tls.certificate_file", pair.cert_chain));
  TRELINK_RETURN_IF_ERROR(ReadPem(tls.private_key_file(), "tls.private_key_file", pair.private_key));
  TRELINK_RETURN_IF_ERROR(ReadPem(tls.client_ca_file(), "tls.client_ca_file", options.pem_root_certs));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(
    const ClientTlsFiles& files) {
  grpc::SslCredentialsOptions options;
  TRELINK_RETURN_IF_ERROR(ReadPem(files.ca_file, "ca_file", options.pem_root_certs));
  if (!files.certificate_file.empty()) {
    TRELINK_RETURN_IF_ERROR(ReadPem(files.certificate_file, "certificate_file", options.pem_cert_chain));
    TRELINK_RETURN_IF_ERROR(ReadPem(files.private_key_file, "private_key_file", options.pem_private_key));
  }
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateMutualTlsChannel(const std::string& address,
                                                                      const ClientTlsFiles& files) {
  if (address.empty()) return absl::InvalidArgumentError("server address: required (HOST:PORT)");
  TRELINK_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                           MutualTlsChannelCredentials(files));
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxClientMessageBytes);
  arguments.SetMaxSendMessageSize(kMaxClientMessageBytes);
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

}  // namespace trelink
