// `--help` for trelink's binaries that take Abseil flags. Abseil's --help
// lists only the flags of a file named after the program (trelink-audit.cc,
// trelink-audit-main.cc), so every binary said "No flags matched"; this
// lists the binary's own flags, and not Abseil's built-in ones (those stay
// under --helpfull).
#pragma once

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace trelink {

// Call before absl::ParseCommandLine.
inline void ListOwnFlagsInHelp() {
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = [](absl::string_view file) { return !absl::StrContains(file, "absl/"); };
  config.contains_help_flags = config.contains_helpshort_flags;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace trelink
