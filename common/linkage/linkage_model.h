// The probabilistic linkage model as data (trelink.v1.LinkageModel):
// comparisons with ordered agreement levels over the pseudonymiser's field
// tokens, and blocking rules. The engine in fellegi_sunter.h is generic;
// this file holds the default model and its checks.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

// The level token that agrees when two participants' related persons (a
// baby's mother, a child's parent, and back) are already one person.
inline constexpr absl::string_view kRelatedPersonToken = "related_person";

// The model for the default key schema (common/pseudonym/key_schema.cc);
// deploy/config/linker.textproto spells out the same model.
trelink::v1::LinkageModel DefaultLinkageModel();

// Structural checks; errors name the field, e.g.
// "linkage.model.comparisons[2].levels[0].tokens: empty". Whether each token
// exists is checked when a run resolves the model against stored batches.
absl::Status ValidateLinkageModel(const trelink::v1::LinkageModel& model);

}  // namespace trelink
