// Who may call what: maps an authenticated identity (the client
// certificate's subject common name) to a role and the projects it may act
// on, and a provider to the datasets it may send. Built only through
// Create(), which validates the config, so a policy with an unnamed
// principal, no projects or a provider without datasets cannot exist.
#pragma once

#include <initializer_list>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/string_view.h"

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

  // Checks that `identity` is known, holds one of `allowed` roles and may act
  // on `project`. An empty project passes only for "*": a call that names no
  // project must not slip past the project check. UNAUTHENTICATED for an
  // empty identity, PERMISSION_DENIED otherwise. `action` names the call in
  // errors.
  absl::StatusOr<Caller> Authorize(absl::string_view identity, std::initializer_list<trelink::v1::Role> allowed,
                                   absl::string_view project, absl::string_view action) const;

  // As Authorize, for a call that reveals data of every project in
  // `projects` (an aggregator's disclosure log): the caller must hold each
  // of them, or "*". An empty list passes only for "*".
  absl::StatusOr<Caller> AuthorizeEvery(absl::string_view identity, std::initializer_list<trelink::v1::Role> allowed,
                                        const std::vector<std::string>& projects, absl::string_view action) const;

  // As Authorize without a project, for calls that reveal no project's data
  // (the catalogue and disclosure policy).
  absl::StatusOr<Caller> AuthorizeRole(absl::string_view identity, std::initializer_list<trelink::v1::Role> allowed,
                                       absl::string_view action) const;

  // True when `identity` is a principal of this policy, whatever its role:
  // a caller that is not may be refused without recording what it sent.
  bool Knows(absl::string_view identity) const { return principals_.count(std::string(identity)) > 0; }

  // PERMISSION_DENIED naming the dataset unless `identity` may send records
  // of `dataset` (its datasets list it, or "*"). Call after Authorize.
  absl::Status AuthorizeDataset(absl::string_view identity, absl::string_view dataset,
                                absl::string_view action) const;

 private:
  AccessPolicy() = default;
  absl::StatusOr<const trelink::v1::Principal*> FindWithRole(absl::string_view identity,
                                                             std::initializer_list<trelink::v1::Role> allowed,
                                                             absl::string_view action) const;
  std::unordered_map<std::string, trelink::v1::Principal> principals_;
};

}  // namespace trelink
