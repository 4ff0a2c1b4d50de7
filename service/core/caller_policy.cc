#include "service/core/caller_policy.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "service/common/status_macros.h"
#include "service/core/jwt.h"

namespace tokend {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxPolicyBytes = 1024 * 1024;
constexpr size_t kMaxQuotedBytes = 256;  // Of one value quoted in a message.
constexpr absl::string_view kWildcard = "*";
constexpr absl::string_view kUriPrefix = "uri:";
constexpr absl::string_view kDnsPrefix = "dns:";
constexpr absl::string_view kUnixPattern = "unix";
constexpr absl::string_view kTcpPattern = "tcp";

// The keys a rule may have, in the order they are checked.
constexpr const char* kRuleKeys[] = {"name",    "callers", "credentials",
                                     "tenants", "scopes",  "resources"};

// `value` in double quotes for a message, escaped so that it cannot forge a log line, and cut
// short if long.
std::string Quote(absl::string_view value) {
  const bool cut = value.size() > kMaxQuotedBytes;
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMaxQuotedBytes)), cut ? "..." : "",
                      "\"");
}

absl::Status Invalid(absl::string_view where, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", problem));
}

// A SAX handler that builds nothing and records where the first syntax error is, so that the
// message can point at it without quoting the file.
class SyntaxErrorFinder : public nlohmann::json_sax<Json> {
 public:
  std::optional<size_t> position() const { return position_; }

  bool null() override { return true; }
  bool boolean(bool /*value*/) override { return true; }
  bool number_integer(number_integer_t /*value*/) override { return true; }
  bool number_unsigned(number_unsigned_t /*value*/) override { return true; }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return true; }
  bool string(string_t& /*value*/) override { return true; }
  bool binary(binary_t& /*value*/) override { return true; }
  bool start_object(std::size_t /*size*/) override { return true; }
  bool key(string_t& /*value*/) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t /*size*/) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    position_ = position;
    return false;
  }

 private:
  std::optional<size_t> position_;  // nlohmann's byte position of the first syntax error.
};

bool HasControlCharacter(absl::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_iscntrl(static_cast<unsigned char>(c)); });
}

bool HasWhitespaceOrControlCharacter(absl::string_view s) {
  return HasControlCharacter(s) || std::any_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isspace(static_cast<unsigned char>(c));
         });
}

// Reads `rule`'s member `key` as a non-empty array of strings, each non-empty and free of
// whitespace and control characters (no name, tenant, scope, URI or SAN has them, so one would
// only make the entry silently never match). nullopt when absent. `where` names the rule.
absl::StatusOr<std::optional<std::vector<std::string>>> StringList(const Json& rule,
                                                                   const char* key,
                                                                   absl::string_view where) {
  auto it = rule.find(key);
  if (it == rule.end()) return std::optional<std::vector<std::string>>();
  const std::string field = absl::StrCat("\"", key, "\"");
  if (!it->is_array()) return Invalid(where, absl::StrCat(field, " is not an array"));
  if (it->empty()) return Invalid(where, absl::StrCat(field, " is empty"));
  std::vector<std::string> list;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string entry = absl::StrCat(field, "[", i, "]");
    const auto* s = (*it)[i].get_ptr<const Json::string_t*>();
    if (s == nullptr) return Invalid(where, absl::StrCat(entry, " is not a string"));
    if (s->empty()) return Invalid(where, absl::StrCat(entry, " is empty"));
    if (HasWhitespaceOrControlCharacter(*s)) {
      return Invalid(where, absl::StrCat(entry, " ", Quote(*s),
                                         " contains whitespace or a control character"));
    }
    list.push_back(*s);
  }
  return std::optional<std::vector<std::string>>(std::move(list));
}

// Like StringList, but the member must be present.
absl::StatusOr<std::vector<std::string>> RequiredStringList(const Json& rule, const char* key,
                                                            absl::string_view where) {
  TOKEND_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> list,
                          StringList(rule, key, where));
  if (!list.has_value()) return Invalid(where, absl::StrCat("\"", key, "\" is missing"));
  return *std::move(list);
}

bool HasWildcard(const std::vector<std::string>& list) {
  for (const std::string& entry : list) {
    if (entry == kWildcard) return true;
  }
  return false;
}

// Whether `list` holds "*" or an entry equal to `value` by `equal`.
template <typename Equal>
bool Allows(const std::vector<std::string>& list, absl::string_view value, Equal equal) {
  for (const std::string& entry : list) {
    if (entry == kWildcard || equal(entry, value)) return true;
  }
  return false;
}

bool ExactlyEqual(absl::string_view a, absl::string_view b) { return a == b; }

// v1 resources compare case-insensitively, ignoring one trailing '/' on either side:
// "https://graph.microsoft.com/" is "https://graph.microsoft.com".
bool SameResource(absl::string_view a, absl::string_view b) {
  absl::ConsumeSuffix(&a, "/");
  absl::ConsumeSuffix(&b, "/");
  return absl::EqualsIgnoreCase(a, b);
}

// The first part of `request` that a rule with these lists does not allow, as a phrase such as
// `credential "mde"`; nullopt if the rule allows all of it. Credentials compare exactly;
// tenants, scopes and resources case-insensitively, as Entra treats them. A request with
// neither scopes nor a resource asks for nothing a list can name, so only a rule with "*" in
// its scopes or resources allows it.
std::optional<std::string> FirstUnallowed(const std::vector<std::string>& credentials,
                                          const std::vector<std::string>& tenants,
                                          const std::vector<std::string>& scopes,
                                          const std::vector<std::string>& resources,
                                          const PolicyRequest& request) {
  if (!Allows(credentials, request.credential, ExactlyEqual)) {
    return absl::StrCat("credential ", Quote(request.credential));
  }
  if (!Allows(tenants, request.tenant, absl::EqualsIgnoreCase)) {
    return absl::StrCat("tenant ", Quote(request.tenant));
  }
  if (!request.resource.empty() && !Allows(resources, request.resource, SameResource)) {
    return absl::StrCat("resource ", Quote(request.resource));
  }
  for (const std::string& scope : request.scopes) {
    if (!Allows(scopes, scope, absl::EqualsIgnoreCase)) {
      return absl::StrCat("scope ", Quote(scope));
    }
  }
  if (request.scopes.empty() && request.resource.empty() && !HasWildcard(scopes) &&
      !HasWildcard(resources)) {
    return std::string("a request without scopes or a resource");
  }
  return std::nullopt;
}

bool NamesCaller(const std::vector<std::string>& patterns, const Caller& caller) {
  for (const std::string& pattern : patterns) {
    if (CallerMatches(pattern, caller)) return true;
  }
  return false;
}

}  // namespace

std::string Caller::Describe() const {
  switch (transport) {
    case Transport::kUnix:
      return "a Unix socket caller";
    case Transport::kTcp:
      return "a loopback TCP caller";
    case Transport::kTls:
      return "a TLS caller without a client certificate";
    case Transport::kMtls:
      break;
  }
  std::vector<std::string> names;
  for (const std::string& uri : uri_sans) {
    names.push_back(absl::StrCat(kUriPrefix, absl::CHexEscape(uri)));
  }
  for (const std::string& dns : dns_sans) {
    names.push_back(absl::StrCat(kDnsPrefix, absl::CHexEscape(dns)));
  }
  if (names.empty()) return "mTLS client without URI or DNS names";
  return absl::StrCat("mTLS client ", absl::StrJoin(names, ", "));
}

bool CallerMatches(absl::string_view pattern, const Caller& caller) {
  if (!CheckCallerPattern(pattern).ok()) return false;
  if (pattern == kUnixPattern) return caller.transport == Caller::Transport::kUnix;
  if (pattern == kTcpPattern) return caller.transport == Caller::Transport::kTcp;
  if (caller.transport != Caller::Transport::kMtls) return false;
  if (absl::ConsumePrefix(&pattern, kUriPrefix)) {
    for (const std::string& uri : caller.uri_sans) {
      if (uri == pattern) return true;
    }
    return false;
  }
  absl::ConsumePrefix(&pattern, kDnsPrefix);  // CheckCallerPattern leaves only "dns:".
  for (const std::string& dns : caller.dns_sans) {
    if (absl::EqualsIgnoreCase(dns, pattern)) return true;
  }
  return false;
}

absl::Status CheckCallerPattern(absl::string_view pattern) {
  if (pattern == kUnixPattern || pattern == kTcpPattern) return absl::OkStatus();
  for (absl::string_view prefix : {kUriPrefix, kDnsPrefix}) {
    if (!absl::StartsWith(pattern, prefix)) continue;
    if (pattern.size() == prefix.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("caller pattern ", Quote(pattern), " has an empty value"));
    }
    return absl::OkStatus();
  }
  if (absl::StartsWith(pattern, "uid:")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "caller pattern ", Quote(pattern),
        " is not supported: tokend cannot read a Unix caller's uid (gRPC 1.51's public API does "
        "not expose the connection's SO_PEERCRED), so Unix callers are gated by the socket's "
        "mode and group and named by \"unix\""));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown caller pattern ", Quote(pattern),
                                                 " (use uri:..., dns:..., unix or tcp)"));
}

// Messages name the file, then the rule: by its name once that is known to be valid and unique,
// else by its 1-based position ("rule #2"). Entries of a list are shown by 0-based index, as in
// JSON paths ("callers"[0] is the first caller).
absl::StatusOr<CallerPolicy> CallerPolicy::Parse(absl::string_view json, std::string source) {
  const std::string where = absl::StrCat("policy ", source);
  if (json.size() > kMaxPolicyBytes) {
    return Invalid(where, absl::StrCat("is larger than ", kMaxPolicyBytes, " bytes"));
  }
  SyntaxErrorFinder finder;
  if (!Json::sax_parse(json.begin(), json.end(), &finder, Json::input_format_t::json,
                       /*strict=*/true)) {
    return Invalid(where, absl::StrCat("not valid JSON: syntax error at byte ",
                                       finder.position().value_or(0)));
  }
  const JsonLimits limits{/*max_depth=*/8, /*max_members=*/16, /*max_string_bytes=*/8 * 1024};
  absl::StatusOr<Json> parsed = ParseStrictJsonObject(json, limits, "document");
  if (!parsed.ok()) return Invalid(where, parsed.status().message());
  const Json& document = *parsed;

  for (const auto& member : document.items()) {
    if (member.key() != "rules") {
      return Invalid(where, absl::StrCat("unknown key ", Quote(member.key()),
                                         " (the file holds only \"rules\")"));
    }
  }
  auto rules = document.find("rules");
  if (rules == document.end()) return Invalid(where, "\"rules\" is missing");
  if (!rules->is_array()) return Invalid(where, "\"rules\" is not an array");
  if (rules->empty()) return Invalid(where, "\"rules\" is empty");

  std::vector<Rule> parsed_rules;
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& entry = (*rules)[i];
    const std::string index_label = absl::StrCat(where, ": rule #", i + 1);
    if (!entry.is_object()) {
      return Invalid(where, absl::StrCat("rule #", i + 1, " is not an object"));
    }

    // The name first, so that later messages can use it.
    Rule rule;
    auto name = entry.find("name");
    if (name == entry.end()) return Invalid(index_label, "\"name\" is missing");
    const auto* name_string = name->get_ptr<const Json::string_t*>();
    if (name_string == nullptr) return Invalid(index_label, "\"name\" is not a string");
    if (name_string->empty()) return Invalid(index_label, "\"name\" is empty");
    if (HasControlCharacter(*name_string)) {
      return Invalid(index_label, absl::StrCat("\"name\" ", Quote(*name_string),
                                               " contains a control character"));
    }
    for (size_t j = 0; j < parsed_rules.size(); ++j) {
      if (parsed_rules[j].name == *name_string) {
        return Invalid(index_label, absl::StrCat("\"name\" ", Quote(*name_string),
                                                 " is already the name of rule #", j + 1));
      }
    }
    rule.name = *name_string;
    const std::string label = absl::StrCat(where, ": rule ", Quote(rule.name));

    // Unknown keys before missing ones: a misspelt "scope" is the better message.
    for (const auto& member : entry.items()) {
      if (std::find(std::begin(kRuleKeys), std::end(kRuleKeys), member.key()) ==
          std::end(kRuleKeys)) {
        return Invalid(label, absl::StrCat("unknown key ", Quote(member.key()), " (expected ",
                                           absl::StrJoin(kRuleKeys, ", "), ")"));
      }
    }
    TOKEND_ASSIGN_OR_RETURN(rule.callers, RequiredStringList(entry, "callers", label));
    for (size_t j = 0; j < rule.callers.size(); ++j) {
      absl::Status pattern = CheckCallerPattern(rule.callers[j]);
      if (!pattern.ok()) {
        return Invalid(label, absl::StrCat("\"callers\"[", j, "]: ", pattern.message()));
      }
    }
    TOKEND_ASSIGN_OR_RETURN(rule.credentials, RequiredStringList(entry, "credentials", label));
    TOKEND_ASSIGN_OR_RETURN(rule.tenants, RequiredStringList(entry, "tenants", label));
    TOKEND_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> scopes,
                            StringList(entry, "scopes", label));
    TOKEND_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> resources,
                            StringList(entry, "resources", label));
    if (!scopes.has_value() && !resources.has_value()) {
      return Invalid(label, "needs \"scopes\" or \"resources\" (or both)");
    }
    // An absent list allows none of its kind.
    rule.scopes = std::move(scopes).value_or(std::vector<std::string>());
    rule.resources = std::move(resources).value_or(std::vector<std::string>());
    parsed_rules.push_back(std::move(rule));
  }
  return CallerPolicy(std::move(parsed_rules), std::move(source));
}

absl::Status CallerPolicy::Authorize(const Caller& caller, const PolicyRequest& request,
                                     std::string* rule) const {
  // Rules apply in file order; the first that names the caller and allows the request decides.
  // Failing that, the first rule that names the caller is the closest and explains the denial.
  const Rule* closest = nullptr;
  std::string closest_unallowed;
  for (const Rule& candidate : rules_) {
    if (!NamesCaller(candidate.callers, caller)) continue;
    std::optional<std::string> unallowed = FirstUnallowed(
        candidate.credentials, candidate.tenants, candidate.scopes, candidate.resources, request);
    if (!unallowed.has_value()) {
      if (rule != nullptr) *rule = candidate.name;
      return absl::OkStatus();
    }
    if (closest == nullptr) {
      closest = &candidate;
      closest_unallowed = *std::move(unallowed);
    }
  }
  if (closest == nullptr) {
    if (rule != nullptr) rule->clear();
    return absl::PermissionDeniedError(
        absl::StrCat("denied by policy ", source_, ": no rule names ", caller.Describe()));
  }
  if (rule != nullptr) *rule = closest->name;
  return absl::PermissionDeniedError(absl::StrCat("denied by policy ", source_, ": rule ",
                                                  Quote(closest->name), " does not allow ",
                                                  closest_unallowed, " for ", caller.Describe()));
}

}  // namespace tokend
