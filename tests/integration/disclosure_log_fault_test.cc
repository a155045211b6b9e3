// The disclosure log under storage faults: a full disk (a real one, made with
// RLIMIT_FSIZE, and an injected one), a failed fsync, a truncation that
// fails and a checkpoint that cannot be written. Whatever fails, the file
// holds complete records only, nothing unlogged is reported as logged, no
// index is handed out twice and appends resume when space returns.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "common/disclosure_log/disclosure_log.h"
#include "common/disclosure_log/log_verifier.h"
#include "tests/support/file_size_limit.h"
#include "tests/support/log_entries.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace trelink {
namespace {

using ::trelink::testing::FileSizeLimit;
using ::trelink::testing::IsOk;
using ::trelink::testing::RefusalEntry;
using ::trelink::testing::StatusIs;

// Faults the injected file calls produce, changed by the test as it goes.
struct Faults {
  int64_t space_left = -1;     // bytes the disk still takes; -1: unlimited
  bool fail_truncate = false;  // ftruncate fails with EIO
  int fail_fsyncs = 0;         // the next n fsyncs fail with EIO
};

LogFileCalls FaultyCalls(Faults& faults) {
  LogFileCalls calls;
  calls.write = [&faults](int fd, const void* data, size_t size) -> ssize_t {
    if (faults.space_left < 0) return ::write(fd, data, size);
    if (faults.space_left == 0) {
      errno = ENOSPC;
      return -1;
    }
    const ssize_t n = ::write(fd, data, std::min(size, static_cast<size_t>(faults.space_left)));
    if (n > 0) faults.space_left -= n;
    return n;
  };
  calls.ftruncate = [&faults](int fd, off_t length) {
    if (!faults.fail_truncate) return ::ftruncate(fd, length);
    errno = EIO;
    return -1;
  };
  calls.fsync = [&faults](int fd) {
    if (faults.fail_fsyncs == 0) return ::fsync(fd);
    --faults.fail_fsyncs;
    errno = EIO;
    return -1;
  };
  return calls;
}

class DisclosureLogFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::trelink::testing::MakeTempDir(); }

  std::unique_ptr<DisclosureLog> Open(LogFileCalls calls = {}) {
    auto signer = NoteSigner::Generate("trelink.test/log");
    EXPECT_THAT(signer, IsOk());
    verifier_ = signer->verifier();
    auto log = DisclosureLog::Open(path(), *std::move(signer), std::move(calls));
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  static void Append(DisclosureLog& log, int n, uint64_t expected_index) {
    trelink::v1::LogEntry entry = RefusalEntry(n);
    absl::StatusOr<uint64_t> index = log.Append(entry);
    ASSERT_THAT(index, IsOk());
    EXPECT_EQ(*index, expected_index);
  }

  // The file as an auditor reads it: complete records only, matching the
  // checkpoint on disk; returns the number of entries.
  uint64_t VerifiedEntries() {
    uint64_t partial = 1;
    auto entries = ReadLogEntries(path(), &partial);
    EXPECT_THAT(entries, IsOk());
    EXPECT_EQ(partial, 0u) << "a partial record is left in the file";
    std::ifstream in(path() + ".checkpoint");
    const std::string note((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LogVerification v = VerifyDisclosureLog(*entries, note, verifier_);
    EXPECT_TRUE(v.ok()) << v.problems[0].check << ": " << v.problems[0].detail;
    return entries->size();
  }

  std::string path() const { return dir_ + "/disclosure.log"; }
  off_t FileSize() const {
    struct stat st {};
    EXPECT_EQ(stat(path().c_str(), &st), 0);
    return st.st_size;
  }
  bool Exists(const std::string& file) const {
    struct stat st {};
    return stat(file.c_str(), &st) == 0;
  }

  std::string dir_;
  NoteVerifier verifier_ = *NoteVerifier::Parse(NoteSigner::Generate("x")->verifier().Encode());
};

TEST_F(DisclosureLogFaultTest, AFullDiskFailsTheAppendAndLeavesNoPartialRecord) {
  std::unique_ptr<DisclosureLog> log = Open();
  for (int i = 0; i < 3; ++i) Append(*log, i, static_cast<uint64_t>(i));
  const off_t before = FileSize();
  {
    FileSizeLimit full(static_cast<rlim_t>(before) + 10);  // room for part of a record only
    trelink::v1::LogEntry entry = RefusalEntry(3);
    EXPECT_THAT(log->Append(entry), StatusIs(absl::StatusCode::kUnavailable, "write failed"));
  }
  EXPECT_EQ(FileSize(), before);
  EXPECT_EQ(log->size(), 3u);
  EXPECT_EQ(VerifiedEntries(), 3u);
  // Space returns: the next append takes the index the failed one did not get.
  Append(*log, 4, 3);
  EXPECT_EQ(VerifiedEntries(), 4u);
  log.reset();
  EXPECT_EQ(Open()->size(), 4u);
  EXPECT_FALSE(Exists(path() + ".checkpoint.tmp"));
}

TEST_F(DisclosureLogFaultTest, AFailedFsyncIsUndone) {
  Faults faults;
  std::unique_ptr<DisclosureLog> log = Open(FaultyCalls(faults));
  Append(*log, 0, 0);
  const off_t before = FileSize();
  faults.fail_fsyncs = 1;  // the record is written but may not be durable
  trelink::v1::LogEntry entry = RefusalEntry(1);
  EXPECT_THAT(log->Append(entry), StatusIs(absl::StatusCode::kUnavailable, "fsync failed"));
  EXPECT_EQ(FileSize(), before);
  EXPECT_EQ(VerifiedEntries(), 1u);
  Append(*log, 2, 1);
  EXPECT_EQ(VerifiedEntries(), 2u);
}

TEST_F(DisclosureLogFaultTest, AnAppendThatCannotBeUndoneStopsTheLogUntilReopened) {
  Faults faults;
  std::unique_ptr<DisclosureLog> log = Open(FaultyCalls(faults));
  Append(*log, 0, 0);
  Append(*log, 1, 1);
  faults.space_left = 7;
  faults.fail_truncate = true;
  trelink::v1::LogEntry entry = RefusalEntry(2);
  EXPECT_THAT(log->Append(entry), StatusIs(absl::StatusCode::kUnavailable, "write failed"));
  // Space returns, but the file may end in part of a record: appending after
  // it would hide every later entry from a reader, so the log refuses.
  faults = Faults();
  entry = RefusalEntry(3);
  EXPECT_THAT(log->Append(entry), StatusIs(absl::StatusCode::kDataLoss, "until the log is reopened"));
  EXPECT_EQ(log->size(), 2u);
  log.reset();
  // Reopening drops the partial record; the index is handed out once.
  log = Open();
  EXPECT_EQ(log->size(), 2u);
  Append(*log, 4, 2);
  EXPECT_EQ(VerifiedEntries(), 3u);
}

TEST_F(DisclosureLogFaultTest, AFailedCheckpointLeavesNoTemporaryFile) {
  std::unique_ptr<DisclosureLog> log = Open();
  Append(*log, 0, 0);
  // A directory in the checkpoint's place: the rename over it fails.
  ASSERT_EQ(unlink((path() + ".checkpoint").c_str()), 0);
  ASSERT_EQ(mkdir((path() + ".checkpoint").c_str(), 0700), 0);
  trelink::v1::LogEntry entry = RefusalEntry(1);
  EXPECT_THAT(log->Append(entry), StatusIs(absl::StatusCode::kUnavailable, "cannot write"));
  EXPECT_FALSE(Exists(path() + ".checkpoint.tmp"));
  // The entry was durable before the checkpoint failed, so it keeps its
  // index (logged, never released) and the next append follows it.
  ASSERT_EQ(rmdir((path() + ".checkpoint").c_str()), 0);
  Append(*log, 2, 2);
  EXPECT_EQ(VerifiedEntries(), 3u);
}

}  // namespace
}  // namespace trelink
