// Any bytes as a disclosure-log file, read as the aggregator reads it at
// start-up (ReadLogEntries on a file) and verified as an auditor does
// (VerifyDisclosureLog: every entry parsed and its released table replayed
// against its policy). The checkpoints are signed here over what was read,
// so the tree, root and consistency checks must all pass whatever the
// entries hold; the bytes are also tried as a signed note and a verifier key.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/disclosure_log/disclosure_log.h"
#include "common/disclosure_log/log_verifier.h"
#include "common/disclosure_log/signed_note.h"
#include "common/merkle/merkle_tree.h"
#include "google/protobuf/stubs/logging.h"

namespace {

const trelink::NoteSigner& Signer() {
  static const trelink::NoteSigner* signer = [] {
    absl::StatusOr<trelink::NoteSigner> generated = trelink::NoteSigner::Generate("fuzz.trelink.example/log");
    if (!generated.ok()) std::abort();
    return new trelink::NoteSigner(*std::move(generated));
  }();
  return *signer;
}

// A file of this process that each input overwrites.
const std::string& LogPath() {
  static const std::string* path = [] {
    char dir[] = "/tmp/trelink-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    return new std::string(std::string(dir) + "/disclosure.log");
  }();
  return *path;
}

void WriteLog(const uint8_t* data, size_t size) {
  const int fd = open(LogPath().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) || close(fd) != 0) std::abort();
}

std::string Checkpoint(const trelink::MerkleTree& tree, uint64_t size) {
  absl::StatusOr<trelink::Hash> root = tree.Root(size);
  if (!root.ok()) std::abort();
  return Signer().Sign({Signer().verifier().name(), size, *root});
}

}  // namespace

// Strings that are not UTF-8 are a large part of the inputs; protobuf would
// log each one it refuses to parse.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  WriteLog(data, size);
  uint64_t partial = 0;
  absl::StatusOr<std::vector<std::string>> entries = trelink::ReadLogEntries(LogPath(), &partial);
  if (!entries.ok()) std::abort();
  size_t consumed = 0;
  for (const std::string& entry : *entries) consumed += 4 + entry.size();
  if (consumed + partial != size) std::abort();  // every byte is an entry or the partial tail

  trelink::MerkleTree tree;
  for (const std::string& entry : *entries) tree.Append(trelink::LeafHash(entry));
  const uint64_t n = entries->size();
  const trelink::LogVerification result =
      trelink::VerifyDisclosureLog(*entries, Checkpoint(tree, n), Signer().verifier(), Checkpoint(tree, n / 2));
  if (result.entries != n || result.checkpoint_size != n) std::abort();
  for (const trelink::LogProblem& problem : result.problems) {
    if (problem.check == "checkpoint" || problem.check == "consistency") std::abort();  // signed over these bytes
    if (problem.entry < 0 || static_cast<uint64_t>(problem.entry) >= n) std::abort();
  }

  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)Signer().verifier().Verify(text);
  (void)trelink::NoteVerifier::Parse(text);
  return 0;
}
