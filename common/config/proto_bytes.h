// A message's deterministic serialisation (map entries in key order): the
// bytes that are hashed or logged, equal for equal messages.
#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace trelink {

std::string DeterministicBytes(const google::protobuf::Message& message);

}  // namespace trelink
