#include "tests/support/service_process.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/server/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace trelink::testing {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The process's output goes to <output>stdout.txt and <output>stderr.txt in
// `work_dir`: a service's files are its own, so that a command run in the
// same directory never shares (and truncates) them.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, const std::string& work_dir,
            const std::string& output = "") {
  const std::string out_file = output + "stdout.txt", err_file = output + "stderr.txt";
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (chdir(work_dir.c_str()) != 0) _exit(127);
  const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

}  // namespace

std::string BinaryDir() { return EnvOr("TRELINK_BIN_DIR", TRELINK_DEFAULT_BIN_DIR); }
std::string CertDir() { return EnvOr("TRELINK_TEST_CERTS", TRELINK_DEFAULT_TEST_CERTS); }

absl::StatusOr<ServiceProcess> ServiceProcess::Start(const std::string& binary, const std::vector<std::string>& args,
                                                     const std::string& work_dir) {
  const std::string output = std::filesystem::path(binary).filename().string() + ".";
  const pid_t pid = Spawn(binary, args, work_dir, output);
  if (pid < 0) return absl::InternalError("fork failed");
  return ServiceProcess(pid, work_dir, output);
}

ServiceProcess::ServiceProcess(ServiceProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), work_dir_(std::move(other.work_dir_)), output_(std::move(other.output_)) {}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::StatusOr<int> ServiceProcess::WaitUntilServing(const std::string& port_file, const std::string& client_cert,
                                                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int port = 0;
  while (absl::Now() < deadline) {
    std::ifstream in(work_dir_ + "/" + port_file);
    if (in >> port && port > 0) break;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat("service exited during start-up: ",
                                                        ReadFile(work_dir_ + "/" + output_ + "stderr.txt")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port <= 0) return absl::DeadlineExceededError("no port file");
  const std::string certs = CertDir();
  auto channel = CreateMutualTlsChannel(absl::StrCat("127.0.0.1:", port),
                                        {certs + "/ca.pem", certs + "/" + client_cert + ".pem",
                                         certs + "/" + client_cert + ".key"});
  if (!channel.ok()) return channel.status();
  auto health = grpc::health::v1::Health::NewStub(*channel);
  while (absl::Now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    context.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(&context, {}, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) return port;
  }
  return absl::DeadlineExceededError("service never reported SERVING");
}

ProcessResult ServiceProcess::Collect(int status) {
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.stdout_text = ReadFile(work_dir_ + "/" + output_ + "stdout.txt");
  result.stderr_text = ReadFile(work_dir_ + "/" + output_ + "stderr.txt");
  return result;
}

ProcessResult ServiceProcess::Stop() {
  if (pid_ <= 0) return Collect(0);
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return Collect(status);
}

ProcessResult ServiceProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (pid_ > 0 && absl::Now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Collect(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Stop();
}

ProcessResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& work_dir) {
  const pid_t pid = Spawn(binary, args, work_dir);
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.stdout_text = ReadFile(work_dir + "/stdout.txt");
  result.stderr_text = ReadFile(work_dir + "/stderr.txt");
  return result;
}

}  // namespace trelink::testing
