#include "common/crypto/secret_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trelink {
namespace {

constexpr off_t kMaxSecretFileBytes = 1 << 20;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
    data += n;
    size -= static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return absl::InternalError(absl::StrCat("cannot sync ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path) {
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open key file ", path, ": ", strerror(errno)));
  }
  struct stat info;
  if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("key file ", path, " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "key file %s is readable or writable by group or others (mode %04o); "
        "a key others could read must be treated as leaked: rotate it, then "
        "`chmod 600 %s`",
        path, info.st_mode & 07777, path));
  }
  if (info.st_size > kMaxSecretFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat("key file ", path, " is too large"));
  }
  absl::StatusOr<SecretBytes> contents = SecretBytes::Allocate(static_cast<size_t>(info.st_size));
  if (!contents.ok()) return contents.status();
  uint8_t* out = contents->data(InsecureSecretAccess());
  size_t done = 0;
  while (done < contents->size()) {
    ssize_t n = read(fd.get(), out + done, contents->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::DataLossError(absl::StrCat("cannot read key file ", path));
    done += static_cast<size_t>(n);
  }
  return contents;
}

absl::Status WriteSecretFile(const std::string& path, const SecretBytes& contents, bool replace) {
  const std::string target = replace ? absl::StrCat(path, ".tmp") : path;
  if (replace) unlink(target.c_str());
  FileDescriptor fd(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("cannot create ", target, ": ", strerror(errno)));
  }
  // The umask cannot widen 0600, but be explicit in case the file system did.
  if (fchmod(fd.get(), 0600) != 0) return absl::InternalError(absl::StrCat("cannot chmod ", target));
  if (absl::Status s = WriteAll(fd.get(), contents.data(InsecureSecretAccess()), contents.size(), target);
      !s.ok()) {
    return s;
  }
  if (replace && rename(target.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot replace ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

std::vector<std::vector<absl::string_view>> SecretTextLines(const SecretBytes& text) {
  const char* p = reinterpret_cast<const char*>(text.data(InsecureSecretAccess()));
  const char* end = p + text.size();
  std::vector<std::vector<absl::string_view>> lines;
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    std::vector<absl::string_view> words;
    for (const char* q = p; q < eol;) {
      while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) ++q;
      const char* start = q;
      while (q < eol && *q != ' ' && *q != '\t' && *q != '\r') ++q;
      if (q > start) words.emplace_back(start, static_cast<size_t>(q - start));
    }
    if (!words.empty() && words[0][0] != '#') lines.push_back(std::move(words));
    p = eol + 1;
  }
  return lines;
}

absl::StatusOr<SecretBytes> DecodeSecretHex(absl::string_view hex, size_t size) {
  absl::StatusOr<SecretBytes> out = SecretBytes::Allocate(size);
  if (!out.ok()) return out.status();
  size_t decoded = 0;
  const char* hex_end = nullptr;
  if (hex.size() != 2 * size ||
      sodium_hex2bin(out->data(InsecureSecretAccess()), size, hex.data(), hex.size(), nullptr,
                     &decoded, &hex_end) != 0 ||
      decoded != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("key is not ", 2 * size, " hexadecimal digits"));
  }
  return out;
}

size_t AppendSecretHex(const SecretBytes& secret, SecretBytes& out, size_t offset) {
  char* dest = reinterpret_cast<char*>(out.data(InsecureSecretAccess())) + offset;
  // sodium_bin2hex writes a trailing NUL; the caller sized `out` for it.
  sodium_bin2hex(dest, 2 * secret.size() + 1, secret.data(InsecureSecretAccess()), secret.size());
  return offset + 2 * secret.size();
}

}  // namespace trelink
