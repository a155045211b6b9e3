// Who may call what: maps an authenticated identity (the client
// certificate's subject common name) to a role and the projects it may act
// on. Built only through Create(), which validates the config, so a policy
// with an unnamed principal or no projects cannot exist.
#pragma once

#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"
#include <unordered_map>

#include "absl/status/statusor.h"
#include "trelink/v1/config.pb.h"

namespace trelink {

struct Caller {
  std::string identity;
  trelink::v1::Role role = trelink::v1::ROLE_UNSPECIFIED;
};

// "provider", "linkage-admin", "analyst", "auditor".
absl::string_view RoleName(trelink::v1::Role role);

class AccessPolicy {
 public:
  static absl::StatusOr<AccessPolicy> Create(const trelink::v1::AccessPolicy& config);

  // Checks that `identity` is known, holds one of `allowed` roles and, when
  // `project` is not empty, may act on it. UNAUTHENTICATED for an empty
  // identity, PERMISSION_DENIED otherwise. `action` names the call in errors.
  absl::StatusOr<Caller> Authorize(absl::string_view identity, std::initializer_list<trelink::v1::Role> allowed,
                                   absl::string_view project, absl::string_view action) const;

 private:
  AccessPolicy() = default;
  std::unordered_map<std::string, trelink::v1::Principal> principals_;
};

}  // namespace trelink
