#include "common/disclosure_log/disclosure_log.h"

#include "common/config/proto_bytes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

LogFileCalls WithDefaults(LogFileCalls calls) {
  if (!calls.write) calls.write = ::write;
  if (!calls.ftruncate) calls.ftruncate = ::ftruncate;
  if (!calls.fsync) calls.fsync = ::fsync;
  return calls;
}

absl::Status WriteAll(const LogFileCalls& calls, int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = calls.write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("disclosure log ", path, ": write failed: ", strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string SerializeEntry(const trelink::v1::LogEntry& entry) { return DeterministicBytes(entry); }

absl::StatusOr<std::vector<std::string>> ReadLogEntries(const std::string& path, uint64_t* partial_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open disclosure log ", path));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> entries;
  size_t offset = 0;
  while (offset + 4 <= data.size()) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + offset);
    const uint32_t length = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    if (offset + 4 + length > data.size()) break;
    entries.push_back(data.substr(offset + 4, length));
    offset += 4 + length;
  }
  if (partial_bytes != nullptr) *partial_bytes = data.size() - offset;
  return entries;
}

DisclosureLog::DisclosureLog(std::string path, NoteSigner signer, LogFileCalls calls)
    : path_(std::move(path)), signer_(std::move(signer)), calls_(WithDefaults(std::move(calls))) {}

absl::StatusOr<std::unique_ptr<DisclosureLog>> DisclosureLog::Open(const std::string& path, NoteSigner signer,
                                                                   LogFileCalls calls) {
  std::unique_ptr<DisclosureLog> log(new DisclosureLog(path, std::move(signer), std::move(calls)));
  log->fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log->fd_ < 0) return absl::UnavailableError(absl::StrCat("cannot open disclosure log ", path, ": ", strerror(errno)));
  uint64_t partial = 0;
  TRELINK_ASSIGN_OR_RETURN(log->entries_, ReadLogEntries(path, &partial));
  if (partial > 0) {
    // A crash cut the last append short; that answer was never released.
    off_t complete = lseek(log->fd_, 0, SEEK_END) - static_cast<off_t>(partial);
    if (ftruncate(log->fd_, complete) != 0 || fsync(log->fd_) != 0) {
      return absl::DataLossError(absl::StrCat("disclosure log ", path, ": cannot drop a partial record"));
    }
    LogError(absl::StrCat("disclosure log: dropped a partial last record (", partial, " bytes) left by a crash"));
  }
  log->durable_bytes_ = lseek(log->fd_, 0, SEEK_END);
  if (log->durable_bytes_ < 0) return absl::UnavailableError(absl::StrCat("cannot seek disclosure log ", path));
  for (const std::string& entry : log->entries_) log->tree_.Append(LeafHash(entry));
  TRELINK_RETURN_IF_ERROR(log->WriteCheckpoint());
  return log;
}

DisclosureLog::~DisclosureLog() {
  if (fd_ >= 0) close(fd_);
}

absl::Status DisclosureLog::WriteCheckpoint() {
  checkpoint_ = signer_.Sign({signer_.verifier().name(), tree_.size(), tree_.Root()});
  const std::string target = path_ + ".checkpoint", temporary = target + ".tmp";
  // Written aside and renamed over, so a reader sees the old or the new
  // checkpoint, never part of one; a temporary left by a failure is removed.
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", temporary, ": ", strerror(errno)));
  absl::Status written = WriteAll(calls_, fd, checkpoint_, temporary);
  if (written.ok() && calls_.fsync(fd) != 0) {
    written = absl::UnavailableError(absl::StrCat("cannot sync ", temporary, ": ", strerror(errno)));
  }
  if (close(fd) != 0 && written.ok()) written = absl::UnavailableError(absl::StrCat("cannot close ", temporary));
  if (written.ok() && rename(temporary.c_str(), target.c_str()) != 0) {
    written = absl::UnavailableError(absl::StrCat("cannot write ", target, ": ", strerror(errno)));
  }
  if (!written.ok()) unlink(temporary.c_str());
  return written;
}

void DisclosureLog::UndoAppend(const absl::Status& cause) {
  if (calls_.ftruncate(fd_, durable_bytes_) == 0 && calls_.fsync(fd_) == 0) return;
  // The file may now end in part of a record, and appending after it would
  // make it unreadable; Open drops a partial last record, so reopening heals.
  failed_ = absl::DataLossError(absl::StrCat("disclosure log ", path_, ": a failed append (", cause.message(),
                                             ") could not be undone: ", strerror(errno),
                                             "; no appends until the log is reopened"));
  LogError(std::string(failed_.message()));
}

absl::StatusOr<uint64_t> DisclosureLog::Append(trelink::v1::LogEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  TRELINK_RETURN_IF_ERROR(failed_);
  entry.set_index(entries_.size());
  std::string bytes = SerializeEntry(entry);
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  const char length[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 24)};
  const std::string record = std::string(length, 4) + bytes;
  absl::Status durable = WriteAll(calls_, fd_, record, path_);
  if (durable.ok() && calls_.fsync(fd_) != 0) {
    durable = absl::UnavailableError(absl::StrCat("disclosure log ", path_, ": fsync failed: ", strerror(errno)));
  }
  if (!durable.ok()) {
    UndoAppend(durable);
    return durable;
  }
  // Only now, with the record durable, may the tree (what auditors are
  // shown) and the next index move on.
  durable_bytes_ += static_cast<off_t>(record.size());
  tree_.Append(LeafHash(bytes));
  entries_.push_back(std::move(bytes));
  TRELINK_RETURN_IF_ERROR(WriteCheckpoint());
  return entry.index();
}

std::string DisclosureLog::Checkpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return checkpoint_;
}

uint64_t DisclosureLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tree_.size();
}

Hash DisclosureLog::Root() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tree_.Root();
}

absl::StatusOr<std::string> DisclosureLog::Entry(uint64_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= entries_.size()) return absl::OutOfRangeError(absl::StrCat("no log entry ", index));
  return entries_[index];
}

absl::StatusOr<std::vector<Hash>> DisclosureLog::InclusionProof(uint64_t index, uint64_t size) const {
  std::lock_guard<std::mutex> lock(mu_);
  return tree_.InclusionProof(index, size);
}

absl::StatusOr<std::vector<Hash>> DisclosureLog::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  std::lock_guard<std::mutex> lock(mu_);
  return tree_.ConsistencyProof(old_size, new_size);
}

}  // namespace trelink
