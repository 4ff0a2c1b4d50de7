// application/x-www-form-urlencoded encoding and decoding (WHATWG URL "urlencoded" rules:
// '+' is a space, %XX is a byte). Pure functions, safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_FORM_ENCODING_H_
#define TOKEND_TESTS_DEVIDP_FORM_ENCODING_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {
namespace devidp {

// Decoded form fields. A field given more than once keeps its first value.
using FormFields = std::map<std::string, std::string>;

// Decodes one form component ('+' -> space, %XX -> byte).
// Returns InvalidArgument for a truncated or non-hex escape.
absl::StatusOr<std::string> FormDecode(absl::string_view component);

// Encodes one form component: unreserved characters stay, space becomes '+', the rest %XX.
std::string FormEncode(absl::string_view component);

// Parses a whole form body "a=1&b=2". Empty pairs are skipped; a pair without '=' has an empty
// value. Returns InvalidArgument if any component is badly escaped.
absl::StatusOr<FormFields> ParseForm(absl::string_view body);

// Encodes `fields` as a form body (in map order).
std::string EncodeForm(const FormFields& fields);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_FORM_ENCODING_H_
