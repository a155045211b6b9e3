#include "common/access/access_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace trelink {

absl::string_view RoleName(trelink::v1::Role role) {
  switch (role) {
    case trelink::v1::PROVIDER: return "provider";
    case trelink::v1::LINKAGE_ADMIN: return "linkage-admin";
    case trelink::v1::ANALYST: return "analyst";
    case trelink::v1::AUDITOR: return "auditor";
    default: return "none";
  }
}

absl::StatusOr<AccessPolicy> AccessPolicy::Create(const trelink::v1::AccessPolicy& config) {
  AccessPolicy policy;
  for (int i = 0; i < config.principals_size(); ++i) {
    const trelink::v1::Principal& p = config.principals(i);
    const std::string where = absl::StrCat("access.principals[", i, "]");
    if (p.identity().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".identity: required"));
    if (p.role() == trelink::v1::ROLE_UNSPECIFIED || !trelink::v1::Role_IsValid(p.role())) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".role: required"));
    }
    if (p.projects().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".projects: at least one project (or \"*\")"));
    }
    if (!policy.principals_.emplace(p.identity(), p).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".identity: \"", p.identity(), "\" listed twice"));
    }
  }
  return policy;
}

absl::StatusOr<Caller> AccessPolicy::Authorize(absl::string_view identity,
                                               std::initializer_list<trelink::v1::Role> allowed,
                                               absl::string_view project, absl::string_view action) const {
  if (identity.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(action, ": no authenticated client certificate"));
  }
  auto it = principals_.find(std::string(identity));
  if (it == principals_.end()) {
    return absl::PermissionDeniedError(absl::StrCat(action, ": identity \"", identity, "\" has no role here"));
  }
  const trelink::v1::Principal& principal = it->second;
  if (std::find(allowed.begin(), allowed.end(), principal.role()) == allowed.end()) {
    return absl::PermissionDeniedError(absl::StrCat(action, ": role ", RoleName(principal.role()), " of \"",
                                                    identity, "\" may not call it"));
  }
  if (!project.empty()) {
    const auto& projects = principal.projects();
    const bool any = std::find(projects.begin(), projects.end(), "*") != projects.end();
    if (!any && std::find(projects.begin(), projects.end(), project) == projects.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat(action, ": \"", identity, "\" may not act on project \"", project, "\""));
    }
  }
  return Caller{std::string(identity), principal.role()};
}

}  // namespace trelink
