#include "common/linkage/linkage_model.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

using Levels = std::initializer_list<std::pair<const char*, std::initializer_list<const char*>>>;

void AddComparison(trelink::v1::LinkageModel& model, const char* name, Levels levels, bool term_frequency = false) {
  auto* comparison = model.add_comparisons();
  comparison->set_name(name);
  comparison->set_term_frequency(term_frequency);
  for (const auto& [level_name, tokens] : levels) {
    auto* level = comparison->add_levels();
    level->set_name(level_name);
    for (const char* token : tokens) level->add_tokens(token);
  }
}

void AddBlockingRule(trelink::v1::LinkageModel& model, std::initializer_list<const char*> tokens) {
  auto* rule = model.add_blocking_rules();
  for (const char* token : tokens) rule->add_tokens(token);
}

absl::Status Invalid(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("linkage.model.", where, ": ", what));
}

}  // namespace

trelink::v1::LinkageModel DefaultLinkageModel() {
  trelink::v1::LinkageModel model;
  AddComparison(model, "nhs_number", {{"exact", {"t.nhs"}}});
  // A swap of given and family name is one level of both name comparisons.
  AddComparison(model, "given_name",
                {{"exact", {"t.given_name"}}, {"phonetic", {"t.given_phonetic"}}, {"swapped", {"t.names_unordered"}}},
                /*term_frequency=*/true);
  AddComparison(model, "family_name",
                {{"exact", {"t.family_name"}}, {"phonetic", {"t.family_phonetic"}}, {"swapped", {"t.names_unordered"}}},
                /*term_frequency=*/true);
  AddComparison(model, "date_of_birth",
                {{"exact", {"t.dob"}},
                 {"day_month_transposed", {"t.dob_day_month_unordered"}},
                 {"year_month", {"t.dob_year_month"}},
                 {"year_within_one", {"t.dob_year_window_even", "t.dob_year_window_odd"}}});
  AddComparison(model, "sex", {{"exact", {"t.sex"}}});
  AddComparison(model, "postcode", {{"exact", {"t.postcode"}}, {"district", {"t.postcode_district"}}});
  AddComparison(model, "related_person", {{"same_person", {"related_person"}}});
  // Each rule lets through an error the others do not: a name typo, a
  // swap, a date of birth wrong within a year (both year windows), a move.
  AddBlockingRule(model, {"t.dob", "t.given_phonetic"});
  AddBlockingRule(model, {"t.dob", "t.family_phonetic"});
  AddBlockingRule(model, {"t.dob", "t.names_unordered"});
  AddBlockingRule(model, {"t.given_name", "t.family_name", "t.dob_year_window_even"});
  AddBlockingRule(model, {"t.given_name", "t.family_name", "t.dob_year_window_odd"});
  AddBlockingRule(model, {"t.given_name", "t.family_name", "t.postcode_district"});
  // A date of birth shared in one postcode district: both names changed
  // (an unnamed newborn, a new family name).
  AddBlockingRule(model, {"t.dob", "t.postcode_district"});
  // The babies of one mother born on one day, named or not.
  AddBlockingRule(model, {"related_person", "t.dob"});
  AddBlockingRule(model, {"related_person", "t.dob_year_month"});
  // Names and date of birth shared across postcode districts: a move, or
  // two people with common names.
  auto* review = model.add_key_reviews();
  review->set_key("name_dob");
  review->add_disagreeing_tokens("t.postcode_district");
  return model;
}

absl::Status ValidateLinkageModel(const trelink::v1::LinkageModel& model) {
  if (model.comparisons().empty()) return Invalid("comparisons", "at least one comparison");
  if (model.blocking_rules().empty() || model.blocking_rules_size() > 32) {
    return Invalid("blocking_rules", "1 to 32 blocking rules");
  }
  std::set<std::string> names;
  size_t patterns = 1;
  for (int c = 0; c < model.comparisons_size(); ++c) {
    const auto& comparison = model.comparisons(c);
    const std::string at = absl::StrCat("comparisons[", c, "]");
    if (comparison.name().empty()) return Invalid(at + ".name", "required");
    if (!names.insert(comparison.name()).second) return Invalid(at + ".name", "duplicate comparison name");
    if (comparison.levels().empty() || comparison.levels_size() > 8) return Invalid(at + ".levels", "1 to 8 levels");
    for (int l = 0; l < comparison.levels_size(); ++l) {
      const auto& level = comparison.levels(l);
      const std::string level_at = absl::StrCat(at, ".levels[", l, "]");
      if (level.name().empty() || level.name() == "disagree" || level.name() == "missing") {
        return Invalid(level_at + ".name", "required, and not \"disagree\" or \"missing\" (they are implicit)");
      }
      if (level.tokens().empty()) return Invalid(level_at + ".tokens", "empty");
    }
    patterns *= static_cast<size_t>(comparison.levels_size() + 2);
    if (patterns > (size_t{1} << 22)) return Invalid("comparisons", "too many comparison patterns (at most 2^22)");
  }
  for (int r = 0; r < model.blocking_rules_size(); ++r) {
    if (model.blocking_rules(r).tokens().empty()) {
      return Invalid(absl::StrCat("blocking_rules[", r, "].tokens"), "empty");
    }
    const auto& tokens = model.blocking_rules(r).tokens();
    if (std::all_of(tokens.begin(), tokens.end(), [](const std::string& t) { return t == kRelatedPersonToken; })) {
      return Invalid(absl::StrCat("blocking_rules[", r, "].tokens"), "related_person cannot block alone");
    }
  }
  for (int k = 0; k < model.key_reviews_size(); ++k) {
    const auto& review = model.key_reviews(k);
    const std::string where = absl::StrCat("key_reviews[", k, "]");
    if (review.key().empty()) return Invalid(absl::StrCat(where, ".key"), "empty");
    if (review.disagreeing_tokens().empty()) return Invalid(absl::StrCat(where, ".disagreeing_tokens"), "empty");
    if (review.match_probability() < 0 || review.match_probability() >= 1) {
      return Invalid(absl::StrCat(where, ".match_probability"), "must be in (0, 1); 0 means the default 0.2");
    }
  }
  return absl::OkStatus();
}

}  // namespace trelink
