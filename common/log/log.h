// Operational log lines on stderr: "2026-11-26T14:00:00Z trelink-pseudonymiser: message".
// Callers pass only counts, names of fields and statuses; never an
// identifier, key or token value. Debian 12's Abseil has no absl/log.
#pragma once

#include "absl/strings/string_view.h"

namespace trelink {

// Sets the program name used as the line prefix.
void SetLogProgram(absl::string_view program);

void LogInfo(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace trelink
