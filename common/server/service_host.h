// The scaffolding every trelink service binary shares: listen with mTLS (or
// plain text on loopback when explicitly asked), serve health and
// reflection, report the bound port, and shut down gracefully on SIGTERM.
#pragma once

#include <grpcpp/server.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

inline constexpr uint32_t kDefaultMaxMessageBytes = 32 << 20;

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
