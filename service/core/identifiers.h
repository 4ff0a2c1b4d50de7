// Syntax checks for the identifiers tokend accepts from files, flags and requests. Pure
// functions; thread-safe.
#ifndef TOKEND_SERVICE_CORE_IDENTIFIERS_H_
#define TOKEND_SERVICE_CORE_IDENTIFIERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

// Returns true iff `s` is a GUID in the 8-4-4-4-12 hexadecimal form.
bool IsGuid(absl::string_view s);

// Returns true iff `s` is a DNS name with at least two labels (e.g. contoso.onmicrosoft.com).
bool IsDomainName(absl::string_view s);

// Returns true iff `s` names a tenant: a GUID or a domain name.
bool IsTenantId(absl::string_view s);

// Returns true iff `host` is "localhost", an IPv4 address in 127.0.0.0/8, or "::1" (with or
// without brackets).
bool IsLoopbackHost(absl::string_view host);

// Checks and normalises an authority host such as "https://login.microsoftonline.com/": https
// (or http for a loopback host), a host, an optional port and path, no query, fragment or user
// info. Returns it without trailing slashes. INVALID_ARGUMENT otherwise, naming `field`.
absl::StatusOr<std::string> NormalizeAuthorityHost(absl::string_view field, absl::string_view url);

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_IDENTIFIERS_H_
