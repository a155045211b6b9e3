// The configured match keys and field tokens: validation and the default set.
#pragma once

#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/crypto/keyed_hash.h"
#include "trelink/v1/match_keys.pb.h"

namespace trelink {

// Match keys are 32 bytes (linkage decisions rest on them); field tokens are
// 16 bytes (they only score agreement, and shorter tokens keep batches small).
inline constexpr size_t kMatchKeyBytes = KeyedHasher::kMatchKeyBytes;
inline constexpr size_t kFieldTokenBytes = KeyedHasher::kFieldTokenBytes;

// Names unique and of [a-z0-9_.-], kinds set, at least one field each, no
// unspecified field; other fields named, with one normalisation per name,
// PHONETIC only for names. Errors name the offending `keys[i]`.
absl::Status ValidateKeySchema(const trelink::v1::KeySchema& schema);

// The names of the identifiers the schema reads from Identifiers.other.
std::set<std::string> OtherIdentifierNames(const trelink::v1::KeySchema& schema);

// The ONS-style default: four match keys in order of strictness (NHS number;
// family + given name + dob; initial + family Soundex + dob + postcode
// district; dob + postcode + given name) and per-field tokens for scoring.
trelink::v1::KeySchema DefaultKeySchema();

}  // namespace trelink
