// CallerPolicy: who may obtain which tokens. A policy file (--policy) lists rules; each rule
// names callers (mTLS client identities by URI or DNS SAN, or every caller of a transport) and
// the credentials, tenants, and scopes or resources they may get tokens for. Deny by default:
// a request is allowed iff some rule that names the caller allows all of it. Without a policy
// file tokend has no CallerPolicy and every caller that can connect may get every token (the
// socket's mode and group, NetworkPolicy and mTLS are then the gate).
//
// The file is JSON:
//   {"rules": [
//     {"name": "defender-reader",
//      "callers": ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc", "unix"],
//      "credentials": ["mde"],
//      "tenants": ["11111111-1111-1111-1111-111111111111"],
//      "scopes": ["https://api.securitycenter.microsoft.com/.default"],
//      "resources": ["https://api.securitycenter.microsoft.com"]}]}
// Caller patterns: "uri:VALUE" and "dns:VALUE" match an mTLS client certificate's SAN exactly
// (DNS case-insensitively); "unix" matches every caller on a Unix socket, "tcp" every caller on
// plaintext loopback TCP. "*" in credentials, tenants, scopes or resources allows any.
// Immutable after Parse; thread-safe.
#ifndef TOKEND_SERVICE_CORE_CALLER_POLICY_H_
#define TOKEND_SERVICE_CORE_CALLER_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokend {

// Who is calling, as the transport tells it. SANs are public names, safe to log.
struct Caller {
  enum class Transport { kUnix, kTcp, kTls, kMtls };
  Transport transport = Transport::kUnix;
  std::vector<std::string> uri_sans;  // kMtls: the client certificate's URI SANs.
  std::vector<std::string> dns_sans;  // kMtls: its DNS SANs.

  // For errors and logs: "a Unix socket caller", "mTLS client uri:spiffe://...", ...
  std::string Describe() const;
};

// True iff `pattern` ("uri:...", "dns:...", "unix", "tcp") names `caller`. Also used for
// --tls-allowed-clients.
bool CallerMatches(absl::string_view pattern, const Caller& caller);

// INVALID_ARGUMENT naming the pattern unless it is one of the forms above.
absl::Status CheckCallerPattern(absl::string_view pattern);

// What a token request asks for, after tokend resolved the credential and the tenant.
struct PolicyRequest {
  std::string credential;           // The credential's name.
  std::string tenant;               // The tenant the token is for (the credential's own or
                                    // the request's).
  std::vector<std::string> scopes;  // v2 scopes; empty for a v1 request.
  std::string resource;             // v1 resource; empty for a v2 request.
};

class CallerPolicy {
 public:
  // Parses the policy file's text. `source` (the file's path) is used in messages. Unknown
  // fields, missing fields, empty lists, duplicate or empty rule names and bad caller patterns
  // are INVALID_ARGUMENT naming the rule and field.
  static absl::StatusOr<CallerPolicy> Parse(absl::string_view json, std::string source);

  // OK if a rule naming `caller` allows all of `request`. Else PERMISSION_DENIED whose message
  // names the rule that came closest (the first rule naming the caller) and what it does not
  // allow, or says no rule names the caller. `rule` (if not null) is set to the deciding rule's
  // name: the allowing rule, the closest denying rule, or "" when no rule names the caller.
  absl::Status Authorize(const Caller& caller, const PolicyRequest& request,
                         std::string* rule) const;

  size_t rule_count() const { return rules_.size(); }
  const std::string& source() const { return source_; }

 private:
  struct Rule {
    std::string name;
    std::vector<std::string> callers;
    std::vector<std::string> credentials;
    std::vector<std::string> tenants;
    std::vector<std::string> scopes;
    std::vector<std::string> resources;
  };
  CallerPolicy(std::vector<Rule> rules, std::string source)
      : rules_(std::move(rules)), source_(std::move(source)) {}

  std::vector<Rule> rules_;
  std::string source_;
};

}  // namespace tokend

#endif  // TOKEND_SERVICE_CORE_CALLER_POLICY_H_
