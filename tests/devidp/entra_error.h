// Entra ID (AADSTS) error responses of the token, discovery and keys endpoints. Each factory
// returns the HTTP status, OAuth `error` and AADSTS code Entra uses for that condition. Messages
// never include client secrets. Pure functions, safe to call from any thread.
#ifndef TOKEND_TESTS_DEVIDP_ENTRA_ERROR_H_
#define TOKEND_TESTS_DEVIDP_ENTRA_ERROR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace devidp {

struct EntraError {
  int http_status = 400;
  std::string error;    // OAuth 2.0 `error`, e.g. "invalid_client".
  int code = 0;         // AADSTS number, e.g. 7000215.
  std::string message;  // Text after "AADSTSnnnn: ".

  static EntraError InvalidClientSecret(absl::string_view client_id);  // 401, 7000215
  static EntraError ExpiredClientSecret(absl::string_view client_id);  // 401, 7000222
  // Client assertions (certificates, workload identity federation).
  static EntraError MalformedClientAssertion(absl::string_view why);     // 400, 50027
  static EntraError AssertionKeyNotFound(absl::string_view thumbprint);  // 401, 700027
  static EntraError AssertionBadSignature();                             // 401, 700027
  static EntraError AssertionWrongSubject();                             // 401, 700021
  static EntraError AssertionWrongAudience();                            // 401, 700023
  static EntraError AssertionOutsideTimeRange(absl::Time now, absl::Time not_before,
                                              absl::Time expires);  // 401, 700024
  static EntraError AssertionReplayed();                            // 401, 50013
  static EntraError NoMatchingFederatedCredential(absl::string_view issuer,
                                                  absl::string_view subject,
                                                  absl::string_view audience);  // 400, 70021
  static EntraError AppNotInTenant(absl::string_view client_id,
                                   absl::string_view tenant);      // 400, 700016
  static EntraError TenantNotFound(absl::string_view tenant);      // 400, 90002
  static EntraError ScopeWithoutDefault(absl::string_view scope);  // 400, 1002012
  static EntraError ResourceParameterOnV2();                       // 400, 901002
  static EntraError ResourceNotFound(absl::string_view resource,
                                     absl::string_view tenant);          // 400, 500011
  static EntraError MissingClientCredential();                           // 400, 7000218
  static EntraError UnsupportedGrantType(absl::string_view grant_type);  // 400, 70003
  static EntraError GrantOnMultiTenantEndpoint();                        // 400, 9001023
  static EntraError SeveralResourcesInScope(absl::string_view scope);    // 400, 700022
  static EntraError MissingParameter(absl::string_view name);            // 400, 900144
  static EntraError MalformedRequest(absl::string_view why);             // 400, 9002313
  // For injected faults: 429 -> throttling (90055), 5xx -> transient (90033), else 9002313.
  static EntraError ForInjectedStatus(int http_status);

  // Returns the JSON body: error, error_description ("AADSTSnnnn: text\r\nTrace ID: ...
  // \r\nCorrelation ID: ...\r\nTimestamp: ..."), error_codes, timestamp, trace_id,
  // correlation_id, error_uri.
  nlohmann::ordered_json ToJson(absl::Time now, absl::string_view trace_id,
                                absl::string_view correlation_id) const;
};

// Formats `t` as Entra's "YYYY-MM-DD HH:MM:SSZ" (UTC).
std::string EntraTimestamp(absl::Time t);

}  // namespace devidp
}  // namespace tokend

#endif  // TOKEND_TESTS_DEVIDP_ENTRA_ERROR_H_
