#include "common/access/access_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace trelink {
namespace {

// Whether `names` holds `name` or the wildcard "*". An empty name only
// matches the wildcard.
bool Covers(const google::protobuf::RepeatedPtrField<std::string>& names, absl::string_view name) {
  if (std::find(names.begin(), names.end(), "*") != names.end()) return true;
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

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
    // A provider's certificate must not be able to store records of a
    // dataset it does not hold, so the binding is required, not defaulted.
    if (p.role() == trelink::v1::PROVIDER && p.datasets().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".datasets: a provider needs the datasets it may send (or \"*\")"));
    }
    if (!policy.principals_.emplace(p.identity(), p).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".identity: \"", p.identity(), "\" listed twice"));
    }
  }
  return policy;
}

absl::StatusOr<const trelink::v1::Principal*> AccessPolicy::FindWithRole(
    absl::string_view identity, std::initializer_list<trelink::v1::Role> allowed, absl::string_view action) const {
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
  return &principal;
}

absl::StatusOr<Caller> AccessPolicy::Authorize(absl::string_view identity,
                                               std::initializer_list<trelink::v1::Role> allowed,
                                               absl::string_view project, absl::string_view action) const {
  return AuthorizeEvery(identity, allowed, {std::string(project)}, action);
}

absl::StatusOr<Caller> AccessPolicy::AuthorizeEvery(absl::string_view identity,
                                                    std::initializer_list<trelink::v1::Role> allowed,
                                                    const std::vector<std::string>& projects,
                                                    absl::string_view action) const {
  absl::StatusOr<const trelink::v1::Principal*> principal = FindWithRole(identity, allowed, action);
  if (!principal.ok()) return principal.status();
  const auto& held = (*principal)->projects();
  if (projects.empty() && !Covers(held, "")) {
    return absl::PermissionDeniedError(absl::StrCat(action, ": \"", identity, "\" may not act on every project"));
  }
  for (const std::string& project : projects) {
    if (!Covers(held, project)) {
      return absl::PermissionDeniedError(
          project.empty() ? absl::StrCat(action, ": no project named, and \"", identity, "\" may not act on every project")
                          : absl::StrCat(action, ": \"", identity, "\" may not act on project \"", project, "\""));
    }
  }
  return Caller{std::string(identity), (*principal)->role()};
}

absl::StatusOr<Caller> AccessPolicy::AuthorizeRole(absl::string_view identity,
                                                   std::initializer_list<trelink::v1::Role> allowed,
                                                   absl::string_view action) const {
  absl::StatusOr<const trelink::v1::Principal*> principal = FindWithRole(identity, allowed, action);
  if (!principal.ok()) return principal.status();
  return Caller{std::string(identity), (*principal)->role()};
}

absl::Status AccessPolicy::AuthorizeDataset(absl::string_view identity, absl::string_view dataset,
                                            absl::string_view action) const {
  auto it = principals_.find(std::string(identity));
  if (it == principals_.end() || !Covers(it->second.datasets(), dataset)) {
    return absl::PermissionDeniedError(
        absl::StrCat(action, ": \"", identity, "\" may not send records of dataset \"", dataset, "\""));
  }
  return absl::OkStatus();
}

}  // namespace trelink
