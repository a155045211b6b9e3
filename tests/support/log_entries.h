// Disclosure-log entries for tests that need a log with something in it.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "trelink/v1/disclosure_log.pb.h"

namespace trelink::testing {

// A logged refusal of query `n`; `message_bytes` pads it out when a test
// needs a log of some size.
inline trelink::v1::LogEntry RefusalEntry(int n, size_t message_bytes = 40) {
  trelink::v1::LogEntry entry;
  entry.mutable_query()->set_name(absl::StrCat("query ", n));
  entry.set_refusal_code("INVALID_ARGUMENT");
  entry.set_refusal_message(std::string(message_bytes, 'x'));
  return entry;
}

}  // namespace trelink::testing
