#include "common/server/service_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>

#include <climits>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/reflection_v1.h"
#include "common/server/tls.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

absl::Status SplitHostPort(const std::string& address, std::string& host) {
  const size_t colon = address.rfind(':');
  if (address.empty() || colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError("server.listen_address: expected HOST:PORT");
  }
  host = address.substr(0, colon);
  return absl::OkStatus();
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out) return absl::InternalError(absl::StrCat("server.port_file: cannot write ", temporary));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("server.port_file: cannot write ", path));
  }
  return absl::OkStatus();
}

// Milliseconds for a channel argument, where INT_MAX means never.
int Milliseconds(uint32_t seconds) {
  return seconds == 0 || seconds > INT_MAX / 1000 ? INT_MAX : static_cast<int>(seconds * 1000);
}

void ApplyConnectionLifetime(const trelink::v1::ConnectionLifetime& config, grpc::ServerBuilder& builder) {
  const ConnectionLifetimeDefaults defaults;
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(config.has_keepalive_time_seconds()
                                                                          ? config.keepalive_time_seconds()
                                                                          : defaults.keepalive_time_seconds));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Milliseconds(config.has_keepalive_timeout_seconds() ? config.keepalive_timeout_seconds()
                                                                                 : defaults.keepalive_timeout_seconds));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, config.keepalive_permit_without_calls() ? 1 : 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             Milliseconds(config.has_max_connection_age_seconds() ? config.max_connection_age_seconds()
                                                                                  : defaults.max_connection_age_seconds));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             Milliseconds(config.has_max_connection_age_grace_seconds()
                                              ? config.max_connection_age_grace_seconds()
                                              : defaults.max_connection_age_grace_seconds));
}

constexpr char kHealthService[] = "grpc.health.v1.Health";

}  // namespace

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  for (const grpc::string_ref& value : auth->FindPropertyValues("x509_common_name")) {
    return std::string(value.data(), value.size());
  }
  return "";
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  // Parsed as an address, not matched as a prefix: "127.evil.invalid" is a
  // name that can resolve anywhere.
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  const std::string bare = host.size() > 2 && host.front() == '[' && host.back() == ']'
                               ? host.substr(1, host.size() - 2)
                               : host;
  in6_addr v6;
  return inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(const std::string& name,
                                                                const trelink::v1::ServerConfig& config,
                                                                const std::vector<grpc::Service*>& services) {
  std::string host;
  TRELINK_RETURN_IF_ERROR(SplitHostPort(config.listen_address(), host));
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (config.insecure_plaintext_loopback()) {
    if (!IsLoopbackHost(host)) {
      return absl::InvalidArgumentError(
          "server.insecure_plaintext_loopback: plain text is allowed only on a loopback address");
    }
    if (config.has_tls()) {
      return absl::InvalidArgumentError("server: set either tls or insecure_plaintext_loopback, not both");
    }
    credentials = grpc::InsecureServerCredentials();
    LogInfo("WARNING: serving plain text on loopback; callers are unauthenticated");
  } else {
    if (!config.has_tls()) return absl::InvalidArgumentError("server.tls: required (mTLS is the default)");
    TRELINK_ASSIGN_OR_RETURN(credentials, MutualTlsServerCredentials(config.tls()));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<const ServedServices> served = AddReflectionV1(builder);
  ApplyConnectionLifetime(config.connections(), builder);
  int port = 0;
  builder.AddListeningPort(config.listen_address(), credentials, &port);
  const int max_bytes =
      static_cast<int>(config.max_message_bytes() != 0 ? config.max_message_bytes() : kDefaultMaxMessageBytes);
  builder.SetMaxReceiveMessageSize(max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address()));
  }
  // "" stands for the whole server; each service is also reported by its
  // own name, so a client can wait for the one it calls.
  server->GetHealthCheckService()->SetServingStatus(true);
  for (const std::string& service : served->names()) {
    if (service != kHealthService) server->GetHealthCheckService()->SetServingStatus(service, true);
  }
  std::printf("%s listening on %s:%d\n", name.c_str(), host.c_str(), port);
  std::fflush(stdout);
  if (!config.port_file().empty()) {
    absl::Status written = WritePortFile(config.port_file(), port);
    if (!written.ok()) {
      server->Shutdown();
      return written;
    }
  }
  return std::unique_ptr<ServiceHost>(new ServiceHost(std::move(server), port, config.port_file()));
}

void ServiceHost::SetNotServing(const std::string& service, absl::string_view reason) {
  LogError(absl::StrCat(service, " reports NOT_SERVING to health checks: ", reason));
  server_->GetHealthCheckService()->SetServingStatus(service, false);
  server_->GetHealthCheckService()->SetServingStatus("", false);
}

void ServiceHost::Shutdown(absl::Duration grace) {
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  if (!port_file_.empty()) std::remove(port_file_.c_str());
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

std::string WaitForShutdownSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  return received == SIGTERM ? "SIGTERM" : "SIGINT";
}

}  // namespace trelink
