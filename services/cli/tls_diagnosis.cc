#include "services/cli/tls_diagnosis.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

// An encrypted key must not make OpenSSL prompt on the terminal.
int NoPassword(char*, int, int, void*) { return 0; }

absl::Status OpenPem(const std::string& flag, const std::string& path, Bio& bio) {
  bio.reset(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    const int error = errno;
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": cannot read (", std::strerror(error), ")"));
  }
  return absl::OkStatus();
}

std::string TimeText(const ASN1_TIME* time) {
  Bio out(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(out.get(), time);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<Certificate> ReadCertificate(const std::string& flag, const std::string& path) {
  Bio bio;
  if (absl::Status s = OpenPem(flag, path, bio); !s.ok()) return s;
  Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (!certificate) return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": not a PEM certificate"));
  return certificate;
}

}  // namespace

absl::Status CheckClientTlsFiles(const std::string& ca, const std::string& cert, const std::string& key) {
  if (ca.empty()) return absl::InvalidArgumentError("--ca is required: the CA certificate the servers chain to");
  if (absl::StatusOr<Certificate> authority = ReadCertificate("ca", ca); !authority.ok()) return authority.status();
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together: give both (or neither)");
  }
  if (cert.empty()) return absl::OkStatus();
  absl::StatusOr<Certificate> certificate = ReadCertificate("cert", cert);
  if (!certificate.ok()) return certificate.status();
  Bio bio;
  if (absl::Status s = OpenPem("key", key, bio); !s.ok()) return s;
  std::unique_ptr<EVP_PKEY, KeyFree> private_key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (!private_key) {
    return absl::InvalidArgumentError(absl::StrCat("--key ", key, ": not an unencrypted PEM private key"));
  }
  const int matches = X509_check_private_key(certificate->get(), private_key.get());
  ERR_clear_error();
  if (matches != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--key ", key, " does not belong to --cert ", cert,
                                                   ": the certificate carries another public key (a key and "
                                                   "certificate of different identities?)"));
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(certificate->get());
  if (X509_cmp_current_time(not_after) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cert ", cert, " expired on ", TimeText(not_after), "; ask for a new certificate"));
  }
  const ASN1_TIME* not_before = X509_get0_notBefore(certificate->get());
  if (X509_cmp_current_time(not_before) > 0) {
    return absl::InvalidArgumentError(absl::StrCat("--cert ", cert, " is not valid before ", TimeText(not_before)));
  }
  return absl::OkStatus();
}

namespace {

// A TCP connection to `host`:`port`, or -1 with `detail` set.
int ConnectTcp(const std::string& host, const std::string& port, int timeout_seconds, std::string& detail) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    detail = gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  timeval timeout{timeout_seconds, 0};
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    // On Linux a connect waits at most the send timeout.
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
    detail = std::strerror(errno == EINPROGRESS ? ETIMEDOUT : errno);
    close(fd);
  }
  return -1;
}

// Alerts a server sends when it will not take the client's certificate.
bool RefusedClientCertificate(unsigned long error) {
  switch (ERR_GET_REASON(error)) {
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      return true;
    default:
      return false;
  }
}

// Writing to a connection the server closed raises SIGPIPE, which would end
// the CLI before it could explain: blocked on this thread for the probe, and
// any that arrived taken before unblocking.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &before_);
  }
  ~SigpipeBlocked() {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &now) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &before_, nullptr);
  }

 private:
  sigset_t pipe_, before_;
};

TlsProbeResult Failure(unsigned long error) {
  const char* reason = ERR_reason_error_string(error);
  const std::string detail = reason != nullptr ? reason : "the TLS handshake failed";
  ERR_clear_error();
  return {RefusedClientCertificate(error) ? TlsProbeOutcome::kClientRefused : TlsProbeOutcome::kHandshakeFailed,
          detail};
}

}  // namespace

TlsProbeResult ProbeTls(const std::string& address, const std::string& ca, const std::string& cert,
                        const std::string& key, int timeout_seconds) {
  std::string host = address, port;
  if (const size_t colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const SigpipeBlocked sigpipe_blocked;
  std::string detail;
  const int fd = ConnectTcp(host, port, std::clamp(timeout_seconds, 1, 10), detail);
  if (fd < 0) return {TlsProbeOutcome::kNoAnswer, detail};
  std::unique_ptr<SSL_CTX, CtxFree> context(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_load_verify_locations(context.get(), ca.c_str(), nullptr);
  if (!cert.empty()) {
    SSL_CTX_use_certificate_chain_file(context.get(), cert.c_str());
    SSL_CTX_use_PrivateKey_file(context.get(), key.c_str(), SSL_FILETYPE_PEM);
  }
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(context.get(), kAlpn, sizeof kAlpn);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd);
  if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) != 1) {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    SSL_set1_host(ssl.get(), host.c_str());
  }
  ERR_clear_error();
  TlsProbeResult result{TlsProbeOutcome::kHandshakeSucceeded, ""};
  if (SSL_connect(ssl.get()) != 1) {
    const long verified = SSL_get_verify_result(ssl.get());
    if (verified != X509_V_OK) {
      result = {TlsProbeOutcome::kServerNotTrusted, X509_verify_cert_error_string(verified)};
    } else {
      result = Failure(ERR_peek_error());
    }
  } else {
    // TLS 1.3: the server judges the client's certificate after the client
    // finished, so its verdict arrives with the first read. Speak first,
    // as HTTP/2 clients do, so that a server that took it answers.
    static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    SSL_write(ssl.get(), kPreface, sizeof kPreface - 1);
    char buffer[64];
    if (SSL_read(ssl.get(), buffer, sizeof buffer) <= 0) {
      const unsigned long error = ERR_peek_error();
      // A gRPC server that will not take the certificate closes the
      // connection without an alert once it has seen it; one that took it
      // answers the preface with its settings.
      const bool closed = error == 0 || ERR_GET_REASON(error) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      result = closed ? TlsProbeResult{TlsProbeOutcome::kClientRefused,
                                       "it closed the connection once it had seen the certificate"}
                      : Failure(error);
    }
  }
  ERR_clear_error();
  ssl.reset();
  close(fd);
  return result;
}

}  // namespace trelink
