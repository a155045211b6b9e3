#include "common/log/log.h"

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trelink {
namespace {

std::mutex& LogMutex() {
  static std::mutex* const mu = new std::mutex();
  return *mu;
}

std::string& Program() {
  static std::string* const program = new std::string("trelink");
  return *program;
}

void Write(absl::string_view level, absl::string_view message) {
  const std::string stamp = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(LogMutex());
  std::fprintf(stderr, "%s %s %.*s: %.*s\n", stamp.c_str(), Program().c_str(), static_cast<int>(level.size()),
               level.data(), static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

}  // namespace

void SetLogProgram(absl::string_view program) {
  std::lock_guard<std::mutex> lock(LogMutex());
  Program() = std::string(program);
}

void LogInfo(absl::string_view message) { Write("info", message); }
void LogError(absl::string_view message) { Write("error", message); }

}  // namespace trelink
