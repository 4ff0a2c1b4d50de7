// GUID helpers: random ids (trace, correlation, uti) and stable ids derived from a name
// (service principal object ids). Safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_GUID_H_
#define TOKEND_TESTS_DEVIDP_GUID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tokend {
namespace devidp {

// Returns a random version-4 GUID in lowercase 8-4-4-4-12 form.
std::string RandomGuid();

// Returns a GUID that depends only on `name` (SHA-256 based, version-5 layout).
std::string DeterministicGuid(absl::string_view name);

// Returns true iff `text` is a GUID in 8-4-4-4-12 hex form (either case).
bool IsGuid(absl::string_view text);

// Returns `length` random bytes encoded as unpadded base64url (Entra's `uti` shape).
std::string RandomBase64UrlId(size_t length);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_GUID_H_
