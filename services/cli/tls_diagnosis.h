// Plain-language explanations of TLS problems, for trelink-cli: checks of
// the client's own files before anything is sent, and a probe that finds
// out why a connection failed (nothing listening, a server certificate the
// CA did not sign, a client certificate the server refused).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace trelink {

// The client's --ca, --cert and --key: each a readable PEM file of the
// right kind, the key the private half of the certificate, the certificate
// within its validity period. INVALID_ARGUMENT naming the flag and file.
// `cert` and `key` may both be empty (no client certificate).
absl::Status CheckClientTlsFiles(const std::string& ca, const std::string& cert, const std::string& key);

enum class TlsProbeOutcome {
  kNoAnswer,             // no TCP connection (refused, unreachable, timed out)
  kServerNotTrusted,     // the server's certificate does not verify against the CA
  kClientRefused,        // the server refused the client's certificate (or its absence)
  kHandshakeFailed,      // another TLS failure (e.g. not a TLS server)
  kHandshakeSucceeded,   // TLS is not the problem
};

struct TlsProbeResult {
  TlsProbeOutcome outcome;
  std::string detail;  // what the system or OpenSSL said, for the message
};

// Connects to `address` (HOST:PORT) and performs the handshake the gRPC
// channel would, waiting at most `timeout_seconds` for each step.
TlsProbeResult ProbeTls(const std::string& address, const std::string& ca, const std::string& cert,
                        const std::string& key, int timeout_seconds);

}  // namespace trelink
