#include "service/core/credential_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tokend {
namespace {

// Credential names are Kubernetes-style folder names; anything else is rejected without being
// echoed, since a caller might have put something sensitive in the field by mistake.
bool IsPlausibleName(const std::string& name) {
  if (name.size() > 253) return false;
  for (char c : name) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::string> CredentialStore::Apply(const CredentialSnapshot& snapshot) {
  std::vector<std::string> changed;
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::shared_ptr<const Credential>> good;
  for (const auto& [name, credential] : snapshot.credentials) {
    auto old = good_.find(name);
    if (old == good_.end() || old->second->version != credential->version) {
      changed.push_back(name);
    }
    good[name] = credential;
  }
  for (const auto& [name, status] : snapshot.failures) {
    auto old = good_.find(name);
    if (old != good_.end()) good[name] = old->second;  // Keep the last good version.
  }
  for (const auto& [name, credential] : good_) {
    if (good.count(name) == 0) changed.push_back(name);  // Removed.
  }
  good_ = std::move(good);
  errors_ = snapshot.failures;
  return changed;
}

absl::StatusOr<std::shared_ptr<const Credential>> CredentialStore::Find(
    const std::string& name) const {
  if (!IsPlausibleName(name)) {
    return absl::InvalidArgumentError(
        "credential: not a credential name (lower-case letters, digits, '-' and '.')");
  }
  absl::ReaderMutexLock lock(&mu_);
  if (name.empty()) {
    if (good_.size() == 1) return good_.begin()->second;
    if (auto it = good_.find("default"); it != good_.end()) return it->second;
    if (good_.empty()) {
      return absl::FailedPreconditionError(
          errors_.empty() ? "no credential is configured in the secrets dir"
                          : "no credential is usable; see the tokend log for why");
    }
    std::vector<std::string> names;
    for (const auto& [n, c] : good_) names.push_back(n);
    return absl::InvalidArgumentError(
        absl::StrCat("credential: required when several credentials are configured (",
                     absl::StrJoin(names, ", "), ")"));
  }
  if (auto it = good_.find(name); it != good_.end()) return it->second;
  if (auto it = errors_.find(name); it != errors_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("credential \"", name, "\" is not usable: ", it->second.message()));
  }
  std::vector<std::string> names;
  for (const auto& [n, c] : good_) names.push_back(n);
  return absl::NotFoundError(absl::StrCat(
      "credential \"", name,
      "\" is not configured (known: ", names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
}

std::vector<CredentialState> CredentialStore::States() const {
  absl::ReaderMutexLock lock(&mu_);
  std::map<std::string, CredentialState> states;
  for (const auto& [name, credential] : good_) {
    CredentialState& state = states[name];
    state.name = name;
    state.usable = true;
    state.version = credential->version;
    state.certificate_expires_at = credential->certificate_expires_at;
  }
  for (const auto& [name, status] : errors_) {
    CredentialState& state = states[name];
    state.name = name;
    state.last_error = status;
  }
  std::vector<CredentialState> out;
  for (auto& [name, state] : states) out.push_back(std::move(state));
  return out;
}

bool CredentialStore::HasTenant(const std::string& tenant) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, credential] : good_) {
    if (absl::EqualsIgnoreCase(credential->tenant_id, tenant)) return true;
  }
  return false;
}

bool CredentialStore::AnyUsable() const {
  absl::ReaderMutexLock lock(&mu_);
  return !good_.empty();
}

}  // namespace tokend
