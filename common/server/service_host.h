// The scaffolding every trelink service binary shares: listen with mTLS (or
// plain text on loopback when explicitly asked), serve health (for the
// server, "", and for each service by name) and reflection (v1 and
// v1alpha), keep connections alive and age them, report the bound port, and
// shut down gracefully on SIGTERM.
#pragma once

#include <grpcpp/server.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

inline constexpr uint32_t kDefaultMaxMessageBytes = 32 << 20;

// ServerConfig.connections fields left unset (see config.proto).
struct ConnectionLifetimeDefaults {
  uint32_t keepalive_time_seconds = 300;
  uint32_t keepalive_timeout_seconds = 20;
  uint32_t max_connection_age_seconds = 3600;
  uint32_t max_connection_age_grace_seconds = 600;
};

// The verified client certificate's subject common name; empty when the
// peer presented none (plain text).
std::string PeerIdentity(const grpc::ServerContextBase& context);

// True for an address in 127.0.0.0/8, ::1 (bare or bracketed) and
// "localhost"; a name is never parsed by prefix.
bool IsLoopbackHost(const std::string& host);

class ServiceHost {
 public:
  // Checks the config, builds the server with `services` (not owned; they
  // must outlive the host), starts it and reports the port on stdout
  // ("<name> listening on HOST:PORT") and in server.port_file.
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Start(const std::string& name,
                                                            const trelink::v1::ServerConfig& config,
                                                            const std::vector<grpc::Service*>& services);

  int port() const { return port_; }
  // Reports `service` ("trelink.v1.AggregateService") and the server as
  // NOT_SERVING to health checks from now on, and logs `reason`: the
  // service cannot answer (its disclosure log is lost, say) until restarted.
  // Thread-safe.
  void SetNotServing(const std::string& service, absl::string_view reason);
  // Marks the service not serving, then stops accepting calls and waits up to
  // `grace` for calls in flight before cancelling them. Removes the port
  // file, so nobody waits on a stale port.
  void Shutdown(absl::Duration grace);

 private:
  ServiceHost(std::unique_ptr<grpc::Server> server, int port, std::string port_file)
      : server_(std::move(server)), port_(port), port_file_(std::move(port_file)) {}
  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::string port_file_;
};

// Blocks SIGTERM and SIGINT so that WaitForShutdownSignal() can take them.
// Call first thing in main, before any thread starts.
void BlockShutdownSignals();

// Waits for SIGTERM or SIGINT; returns its name.
std::string WaitForShutdownSignal();

}  // namespace trelink
