#include "tests/devidp/token_request.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/devidp/base64url.h"
#include "tests/devidp/form_encoding.h"

namespace tokend {
namespace devidp {
namespace {

absl::optional<std::string> Field(const FormFields& fields, const char* name) {
  auto it = fields.find(name);
  if (it == fields.end()) return absl::nullopt;
  return it->second;
}

// Decodes "Basic base64(form(client_id):form(secret))". Returns false if malformed.
bool ParseBasic(absl::string_view header, std::string* client_id, std::string* secret) {
  absl::string_view value = absl::StripAsciiWhitespace(header.substr(6));
  absl::StatusOr<std::string> decoded = Base64Decode(value);
  if (!decoded.ok()) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  absl::StatusOr<std::string> id = FormDecode(absl::string_view(*decoded).substr(0, colon));
  absl::StatusOr<std::string> password = FormDecode(absl::string_view(*decoded).substr(colon + 1));
  if (!id.ok() || !password.ok()) return false;
  *client_id = *std::move(id);
  *secret = *std::move(password);
  return true;
}

}  // namespace

TokenRequest ParseTokenRequest(TokenEndpoint endpoint, absl::string_view tenant,
                               absl::string_view body, absl::string_view authorization) {
  TokenRequest request;
  request.endpoint = endpoint;
  request.tenant = std::string(tenant);
  absl::StatusOr<FormFields> fields = ParseForm(body);
  if (!fields.ok()) {
    request.malformed = "the request body is not valid form data";
    return request;
  }
  request.grant_type = Field(*fields, "grant_type");
  request.client_id = Field(*fields, "client_id");
  request.scope = Field(*fields, "scope");
  request.resource = Field(*fields, "resource");

  int methods = 0;
  if (absl::optional<std::string> secret = Field(*fields, "client_secret"); secret.has_value()) {
    ++methods;
    request.credential.kind = ClientCredential::Kind::kSecret;
    request.credential.secret = *std::move(secret);
  }
  if (absl::optional<std::string> assertion = Field(*fields, "client_assertion");
      assertion.has_value()) {
    ++methods;
    request.credential.kind = ClientCredential::Kind::kAssertion;
    request.credential.assertion = *std::move(assertion);
    request.credential.assertion_type = Field(*fields, "client_assertion_type").value_or("");
  }
  if (absl::StartsWithIgnoreCase(authorization, "Basic ")) {
    ++methods;
    std::string basic_id;
    std::string basic_secret;
    if (!ParseBasic(authorization, &basic_id, &basic_secret)) {
      request.malformed = "the Authorization header is not valid HTTP Basic";
      return request;
    }
    if (request.client_id.has_value() && *request.client_id != basic_id) {
      request.malformed = "client_id differs between the body and the Authorization header";
      return request;
    }
    request.client_id = std::move(basic_id);
    request.credential.kind = ClientCredential::Kind::kSecret;
    request.credential.secret = std::move(basic_secret);
  }
  if (methods > 1) {
    request.credential = ClientCredential();
    request.malformed = "more than one client authentication method was used";
  }
  return request;
}

}  // namespace devidp
}  // namespace tokend
