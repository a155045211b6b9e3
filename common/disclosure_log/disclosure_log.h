// The tamper-evident disclosure log: every Count answer and refusal is
// appended as a deterministically serialised LogEntry to an append-only file
// ("length u32le || bytes" records), fsync'd, added to a Merkle tree, and a
// new signed checkpoint is written, before the answer may leave the service.
// A record cut short by a crash is dropped at the next open, and one cut
// short by a failed write (a full disk) is cut off at once, so the log
// always verifies and never holds a partial record before complete ones.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/disclosure_log/signed_note.h"
#include "common/merkle/merkle_tree.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink {

// Reads the entries of a log file; a trailing partial record is reported in
// `partial_bytes` and not returned.
absl::StatusOr<std::vector<std::string>> ReadLogEntries(const std::string& path, uint64_t* partial_bytes = nullptr);

// Deterministic bytes of an entry (what is hashed).
std::string SerializeEntry(const trelink::v1::LogEntry& entry);

// The system calls through which the log changes its file. Tests substitute
// failing ones to inject the faults a disk can produce (EIO, short writes, a
// truncation that fails); empty members mean the POSIX call.
struct LogFileCalls {
  std::function<ssize_t(int fd, const void* data, size_t size)> write;
  std::function<int(int fd, off_t length)> ftruncate;
  std::function<int(int fd)> fsync;
};

class DisclosureLog {
 public:
  // Opens (creating) the log at `path`; the checkpoint is kept at
  // `path`.checkpoint. `signer` signs checkpoints.
  static absl::StatusOr<std::unique_ptr<DisclosureLog>> Open(const std::string& path, NoteSigner signer,
                                                             LogFileCalls calls = {});
  ~DisclosureLog();

  // Sets entry.index, appends, fsyncs, checkpoints. Thread-safe. Returns the
  // index. On error nothing may be released. A failed write or fsync is
  // undone (the file is cut back to its last complete record) and the index
  // is handed out again; if it cannot be undone, every later append fails
  // with DATA_LOSS until the log is reopened. A failed checkpoint leaves the
  // entry logged (it was durable) but unreleased.
  absl::StatusOr<uint64_t> Append(trelink::v1::LogEntry& entry);

  std::string Checkpoint() const;
  uint64_t size() const;
  Hash Root() const;
  absl::StatusOr<std::string> Entry(uint64_t index) const;
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

 private:
  DisclosureLog(std::string path, NoteSigner signer, LogFileCalls calls);
  void UndoAppend(const absl::Status& cause);
  absl::Status WriteCheckpoint();

  const std::string path_;
  NoteSigner signer_;
  const LogFileCalls calls_;
  mutable std::mutex mu_;
  int fd_ = -1;
  off_t durable_bytes_ = 0;  // the file's size after the last complete record
  absl::Status failed_;      // set when a failed append could not be undone
  std::vector<std::string> entries_;
  MerkleTree tree_;
  std::string checkpoint_;
};

}  // namespace trelink
