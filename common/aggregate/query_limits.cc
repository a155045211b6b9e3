#include "common/aggregate/query_limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/aggregate/count_query.h"
#include "common/status/field_violation.h"
#include "common/status/status_macros.h"

namespace trelink {
namespace {

using google::protobuf::RepeatedPtrField;

absl::Status TooLarge(const std::string& field, absl::string_view what) { return FieldError(field, what); }

absl::Status CheckLabel(const std::string& field, const std::string& value) {
  if (value.size() <= kMaxQueryLabelBytes) return absl::OkStatus();
  return TooLarge(field, absl::StrCat(value.size(), " bytes; at most ", kMaxQueryLabelBytes));
}

template <typename T>
absl::Status CheckCount(const std::string& field, const RepeatedPtrField<T>& list, int limit) {
  if (list.size() <= limit) return absl::OkStatus();
  return TooLarge(field, absl::StrCat(list.size(), " entries; at most ", limit));
}

absl::Status CheckLabels(const std::string& field, const RepeatedPtrField<std::string>& labels, int limit) {
  TRELINK_RETURN_IF_ERROR(CheckCount(field, labels, limit));
  for (int i = 0; i < labels.size(); ++i) {
    TRELINK_RETURN_IF_ERROR(CheckLabel(absl::StrCat(field, "[", i, "]"), labels[i]));
  }
  return absl::OkStatus();
}

absl::Status CheckFilters(const std::string& field, const RepeatedPtrField<trelink::v1::DimensionFilter>& filters) {
  TRELINK_RETURN_IF_ERROR(CheckCount(field, filters, kMaxQueryListEntries));
  for (int i = 0; i < filters.size(); ++i) {
    const std::string at = absl::StrCat(field, "[", i, "]");
    TRELINK_RETURN_IF_ERROR(CheckLabel(at + ".attribute", filters[i].attribute()));
    TRELINK_RETURN_IF_ERROR(CheckLabels(at + ".values", filters[i].values(), kMaxFilterValues));
  }
  return absl::OkStatus();
}

absl::Status CheckCohort(const trelink::v1::Cohort& cohort) {
  TRELINK_RETURN_IF_ERROR(CheckLabel("cohort.dataset", cohort.dataset()));
  TRELINK_RETURN_IF_ERROR(CheckLabels("cohort.events", cohort.events(), kMaxQueryListEntries));
  TRELINK_RETURN_IF_ERROR(CheckLabel("cohort.role", cohort.role()));
  TRELINK_RETURN_IF_ERROR(CheckLabel("cohort.from_date", cohort.from_date()));
  TRELINK_RETURN_IF_ERROR(CheckLabel("cohort.to_date", cohort.to_date()));
  return CheckFilters("cohort.filters", cohort.filters());
}

absl::Status CheckFlags(const RepeatedPtrField<trelink::v1::Flag>& flags) {
  TRELINK_RETURN_IF_ERROR(CheckCount("flags", flags, kMaxQueryFlags));
  for (int i = 0; i < flags.size(); ++i) {
    const std::string at = absl::StrCat("flags[", i, "]");
    TRELINK_RETURN_IF_ERROR(CheckLabel(at + ".name", flags[i].name()));
    TRELINK_RETURN_IF_ERROR(CheckLabel(at + ".dataset", flags[i].dataset()));
    TRELINK_RETURN_IF_ERROR(CheckLabels(at + ".events", flags[i].events(), kMaxQueryListEntries));
    TRELINK_RETURN_IF_ERROR(CheckFilters(at + ".filters", flags[i].filters()));
  }
  return absl::OkStatus();
}

absl::Status CheckGroupBy(const RepeatedPtrField<trelink::v1::Dimension>& group_by) {
  TRELINK_RETURN_IF_ERROR(CheckCount("group_by", group_by, kMaxGroupBy));
  for (int i = 0; i < group_by.size(); ++i) {
    const std::string at = absl::StrCat("group_by[", i, "]");
    TRELINK_RETURN_IF_ERROR(CheckLabel(at + ".attribute", group_by[i].attribute()));
    TRELINK_RETURN_IF_ERROR(CheckLabel(at + ".flag", group_by[i].flag()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckQueryLimits(const trelink::v1::CountQuery& query) {
  TRELINK_RETURN_IF_ERROR(CheckLabel("project", query.project()));
  TRELINK_RETURN_IF_ERROR(CheckLabel("name", query.name()));
  TRELINK_RETURN_IF_ERROR(CheckCohort(query.cohort()));
  TRELINK_RETURN_IF_ERROR(CheckFlags(query.flags()));
  TRELINK_RETURN_IF_ERROR(CheckGroupBy(query.group_by()));
  // Unknown fields are kept by proto3 parsing and would be serialised too.
  const size_t bytes = query.ByteSizeLong();
  if (bytes > kMaxQueryBytes) {
    return TooLarge("query", absl::StrCat(bytes, " bytes serialised; at most ", kMaxQueryBytes));
  }
  return absl::OkStatus();
}

}  // namespace trelink
