// A message's deterministic serialisation (map entries in key order): the
// bytes that are hashed or logged, equal for equal messages.
#pragma once

#include <string>

#include "google/protobuf/arena.h"
#include "google/protobuf/message.h"

namespace trelink {

std::string DeterministicBytes(const google::protobuf::Message& message);

// An arena for one batch's messages (thousands of records, each with
// several strings): blocks large enough that a batch takes a handful of
// allocations, and is freed at once.
google::protobuf::ArenaOptions BatchArenaOptions();

}  // namespace trelink
