// trelink-keygen: creates the secret key files trelink services use.
//
//   trelink-keygen master --out master.keyset        new keyset, version 1
//   trelink-keygen rotate --keyset master.keyset     add a version, make it primary
//   trelink-keygen linker --out linker.keypair --public-out linker.pub
//   trelink-keygen log --name trelink.example/log --out log.key --public-out log.pub
//
// Secret files are created with mode 0600 and never overwritten (rotate
// replaces the keyset atomically). Keys are never printed.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/linker_keys.h"
#include "common/crypto/master_keyset.h"
#include "common/disclosure_log/signed_note.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  trelink-keygen master --out FILE                      create a master keyset (version 1)\n"
    "  trelink-keygen rotate --keyset FILE                   add a new primary version\n"
    "  trelink-keygen linker --out FILE --public-out FILE    create the linker's sealing key pair\n"
    "  trelink-keygen log --name ORIGIN --out FILE --public-out FILE\n"
    "                                                        create the disclosure log's signing key\n";

// Returns the value of `--name VALUE` or `--name=VALUE`, or "".
std::string Option(const std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(name + "=", 0) == 0) return args[i].substr(name.size() + 1);
  }
  return "";
}

absl::Status Run(const std::vector<std::string>& args) {
  if (args.empty()) return absl::InvalidArgumentError("missing command");
  const std::string& command = args[0];
  if (command == "master") {
    const std::string out = Option(args, "--out");
    if (out.empty()) return absl::InvalidArgumentError("--out is required");
    TRELINK_ASSIGN_OR_RETURN(MasterKeyset keyset, MasterKeyset::Generate());
    TRELINK_RETURN_IF_ERROR(keyset.Save(out, /*replace=*/false));
    std::printf("created master keyset %s (version %u primary, mode 0600)\n", out.c_str(), keyset.primary_version());
    return absl::OkStatus();
  }
  if (command == "rotate") {
    const std::string path = Option(args, "--keyset");
    if (path.empty()) return absl::InvalidArgumentError("--keyset is required");
    TRELINK_ASSIGN_OR_RETURN(MasterKeyset keyset, MasterKeyset::Load(path));
    TRELINK_RETURN_IF_ERROR(keyset.Rotate());
    TRELINK_RETURN_IF_ERROR(keyset.Save(path, /*replace=*/true));
    std::printf("rotated %s: version %u is now primary; restart the pseudonymiser to use it\n", path.c_str(),
                keyset.primary_version());
    return absl::OkStatus();
  }
  if (command == "linker") {
    const std::string out = Option(args, "--out");
    const std::string public_out = Option(args, "--public-out");
    if (out.empty() || public_out.empty()) return absl::InvalidArgumentError("--out and --public-out are required");
    TRELINK_ASSIGN_OR_RETURN(LinkerKeyPair pair, LinkerKeyPair::Generate());
    TRELINK_RETURN_IF_ERROR(pair.Save(out));
    TRELINK_RETURN_IF_ERROR(pair.public_key().Save(public_out));
    std::printf("created linker key pair %s (mode 0600) and public key %s (fingerprint %s)\n", out.c_str(),
                public_out.c_str(), pair.public_key().Fingerprint().c_str());
    return absl::OkStatus();
  }
  if (command == "log") {
    const std::string name = Option(args, "--name"), out = Option(args, "--out");
    const std::string public_out = Option(args, "--public-out");
    if (name.empty() || out.empty() || public_out.empty()) {
      return absl::InvalidArgumentError("--name, --out and --public-out are required");
    }
    TRELINK_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::Generate(name));
    TRELINK_RETURN_IF_ERROR(signer.Save(out));
    std::ofstream pub(public_out, std::ios::trunc);
    pub << signer.verifier().Encode() << "\n";
    if (!pub) return absl::InternalError(absl::StrCat("cannot write ", public_out));
    std::printf("created log signing key %s (mode 0600) and verifier key %s: %s\n", out.c_str(), public_out.c_str(),
                signer.verifier().Encode().c_str());
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace trelink

int main(int argc, char** argv) {
  trelink::SetLogProgram("trelink-keygen");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find_if(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; }) !=
      args.end()) {
    std::fputs(trelink::kUsage, stdout);
    return 0;
  }
  absl::Status status = trelink::Run(args);
  if (!status.ok()) {
    trelink::LogError(status.ToString());
    std::fputs(trelink::kUsage, stderr);
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
