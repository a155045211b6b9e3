// Storage faults under SQLite, without root or a mount: a VFS that wraps the
// platform's and, when armed, fails the Nth mutating file call (a write, an
// fsync or a truncate, of any file: database, WAL or journal). Counting the
// calls of a clean run first lets a test fail each of them in turn:
//
//   kDiskFull  from call N on the disk is full: the first write from there
//              stores half its bytes (a short write) and fails with
//              SQLITE_FULL, as do the writes after it; fsyncs and truncates
//              still work, so a fault at a last fsync injects nothing;
//   kIoError   call N alone fails with an I/O error (EIO) and stores
//              nothing; the calls after it work again.
//
// Install() makes it the default VFS of the process, so code under test
// opens its databases through it unchanged. Not thread-safe: the fault
// state is read by whichever thread does the I/O.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstring>

namespace trelink::testing {

enum class StorageFault { kDiskFull, kIoError };

class FaultySqliteVfs {
 public:
  // Registers the VFS as the process default (once) and disarms it.
  static void Install() {
    static bool installed = [] {
      sqlite3_initialize();
      real_ = sqlite3_vfs_find(nullptr);
      vfs_ = *real_;
      vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
      vfs_.zName = "trelink-faulty";
      vfs_.pAppData = real_;
      vfs_.xOpen = Open;
      return sqlite3_vfs_register(&vfs_, 1) == SQLITE_OK;
    }();
    (void)installed;
    Disarm();
  }
  // Counts mutating calls from now on, failing none.
  static void Disarm() { FailCall(0, StorageFault::kDiskFull); }
  // Fails mutating call number `n` (1-based, counted from now) as `fault`.
  static void FailCall(int64_t n, StorageFault fault) {
    calls_ = 0;
    failed_ = 0;
    fail_at_ = n;
    fault_ = fault;
  }
  // Mutating calls since the last Disarm or FailCall, and how many failed.
  static int64_t calls() { return calls_; }
  static int64_t failed() { return failed_; }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;  // the platform file, allocated right after this one
  };
  enum class Outcome { kPass, kShortThenFull, kFull, kIoError };

  static Outcome Next(bool write) {
    const int64_t n = ++calls_;
    if (fail_at_ == 0 || n < fail_at_) return Outcome::kPass;
    if (fault_ == StorageFault::kIoError) {
      if (n != fail_at_) return Outcome::kPass;
      ++failed_;
      return Outcome::kIoError;
    }
    if (!write) return Outcome::kPass;  // a full disk still syncs and truncates
    return ++failed_ == 1 ? Outcome::kShortThenFull : Outcome::kFull;
  }
  static sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static int Write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
    switch (Next(true)) {
      case Outcome::kPass: return Real(f)->pMethods->xWrite(Real(f), data, amount, offset);
      case Outcome::kShortThenFull:
        if (amount > 1) Real(f)->pMethods->xWrite(Real(f), data, amount / 2, offset);
        return SQLITE_FULL;
      case Outcome::kFull: return SQLITE_FULL;
      case Outcome::kIoError: return SQLITE_IOERR_WRITE;
    }
    return SQLITE_IOERR_WRITE;
  }
  static int Sync(sqlite3_file* f, int flags) {
    if (Next(false) == Outcome::kIoError) return SQLITE_IOERR_FSYNC;
    return Real(f)->pMethods->xSync(Real(f), flags);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (Next(false) == Outcome::kIoError) return SQLITE_IOERR_TRUNCATE;
    return Real(f)->pMethods->xTruncate(Real(f), size);
  }
  static int Close(sqlite3_file* f) {
    const int rc = Real(f)->pMethods->xClose(Real(f));
    f->pMethods = nullptr;
    return rc;
  }
  // Everything else is passed through.
  static int Read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
    return Real(f)->pMethods->xRead(Real(f), data, amount, offset);
  }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
  static int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
  static int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
  static int CheckReservedLock(sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  }
  static int FileControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
  static int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
  static int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
  static int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
  static int ShmUnmap(sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); }
  static int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
  }
  static int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
    return Real(f)->pMethods->xUnfetch(Real(f), offset, page);
  }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    static const sqlite3_io_methods methods = {
        3,        Close,      Read,   Write,  Truncate, Sync,       FileSize, Lock,
        Unlock,   CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier,
        ShmUnmap, Fetch,      Unfetch};
    auto* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    std::memset(file->real, 0, static_cast<size_t>(real_->szOsFile));
    auto* real = static_cast<sqlite3_vfs*>(vfs->pAppData);
    const int rc = real->xOpen(real, name, file->real, flags, out_flags);
    file->base.pMethods = file->real->pMethods != nullptr ? &methods : nullptr;
    return rc;
  }

  static inline sqlite3_vfs vfs_{};
  static inline sqlite3_vfs* real_ = nullptr;
  static inline int64_t calls_ = 0;
  static inline int64_t failed_ = 0;
  static inline int64_t fail_at_ = 0;
  static inline StorageFault fault_ = StorageFault::kDiskFull;
};

}  // namespace trelink::testing
