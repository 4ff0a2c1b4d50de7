#include "service/core/caller_policy.h"

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;
using Json = nlohmann::json;
using Strings = std::vector<std::string>;

constexpr char kSource[] = "/p.json";
constexpr char kTenant[] = "11111111-1111-1111-1111-111111111111";
constexpr char kOtherTenant[] = "22222222-2222-2222-2222-222222222222";
constexpr char kMdeScope[] = "https://api.securitycenter.microsoft.com/.default";
constexpr char kMdeResource[] = "https://api.securitycenter.microsoft.com";
constexpr char kReaderUri[] = "spiffe://cluster.local/ns/sec/sa/reader";

Caller UnixCaller() { return Caller{Caller::Transport::kUnix, {}, {}}; }
Caller TcpCaller() { return Caller{Caller::Transport::kTcp, {}, {}}; }
Caller TlsCaller() { return Caller{Caller::Transport::kTls, {}, {}}; }
Caller MtlsCaller(Strings uris, Strings dns = {}) {
  return Caller{Caller::Transport::kMtls, std::move(uris), std::move(dns)};
}

// One rule as JSON; a list left nullopt is absent.
Json RuleJson(const std::string& name, Strings callers, Strings credentials, Strings tenants,
              std::optional<Strings> scopes, std::optional<Strings> resources = std::nullopt) {
  Json rule = {
      {"name", name}, {"callers", callers}, {"credentials", credentials}, {"tenants", tenants}};
  if (scopes.has_value()) rule["scopes"] = *scopes;
  if (resources.has_value()) rule["resources"] = *resources;
  return rule;
}

// Parses a policy of `rules`, which must be valid.
CallerPolicy PolicyOf(const std::vector<Json>& rules) {
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(Json{{"rules", rules}}.dump(), kSource);
  EXPECT_THAT(policy, IsOk());
  return *std::move(policy);  // Dies on a broken test, after the failure above.
}

PolicyRequest V2(std::string credential, std::string tenant, Strings scopes) {
  return PolicyRequest{std::move(credential), std::move(tenant), std::move(scopes), ""};
}
PolicyRequest V1(std::string credential, std::string tenant, std::string resource) {
  return PolicyRequest{std::move(credential), std::move(tenant), {}, std::move(resource)};
}

// The status of `policy.Authorize`, with the rule it reported appended as " [rule]".
std::string Decide(const CallerPolicy& policy, const Caller& caller, const PolicyRequest& request) {
  std::string rule = "unset";
  absl::Status status = policy.Authorize(caller, request, &rule);
  return std::string(status.ok() ? "OK" : status.message()) + " [" + rule + "]";
}

TEST(CallerTest, DescribesEachTransport) {
  EXPECT_EQ(UnixCaller().Describe(), "a Unix socket caller");
  EXPECT_EQ(TcpCaller().Describe(), "a loopback TCP caller");
  EXPECT_EQ(TlsCaller().Describe(), "a TLS caller without a client certificate");
  EXPECT_EQ(MtlsCaller({"spiffe://a", "spiffe://b"}, {"b.example"}).Describe(),
            "mTLS client uri:spiffe://a, uri:spiffe://b, dns:b.example");
  EXPECT_EQ(MtlsCaller({}, {"b.example"}).Describe(), "mTLS client dns:b.example");
  EXPECT_EQ(MtlsCaller({}).Describe(), "mTLS client without URI or DNS names");
}

TEST(CallerTest, DescribeEscapesControlCharacters) {
  EXPECT_EQ(MtlsCaller({"spiffe://a\nforged"}).Describe(), "mTLS client uri:spiffe://a\\nforged");
}

TEST(CheckCallerPatternTest, AcceptsTheFourForms) {
  EXPECT_THAT(CheckCallerPattern("uri:spiffe://cluster.local/ns/a/sa/b"), IsOk());
  EXPECT_THAT(CheckCallerPattern("dns:reader.sec.svc"), IsOk());
  EXPECT_THAT(CheckCallerPattern("unix"), IsOk());
  EXPECT_THAT(CheckCallerPattern("tcp"), IsOk());
}

TEST(CheckCallerPatternTest, RejectsEmptyValues) {
  EXPECT_THAT(CheckCallerPattern("uri:"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   "caller pattern \"uri:\" has an empty value"));
  EXPECT_THAT(CheckCallerPattern("dns:"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   "caller pattern \"dns:\" has an empty value"));
}

TEST(CheckCallerPatternTest, RejectsUnknownForms) {
  EXPECT_THAT(CheckCallerPattern("foo:bar"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown caller pattern \"foo:bar\" (use uri:..., dns:..., unix or tcp)"));
  for (const char* pattern :
       {"", "*", "URI:spiffe://a", "Unix", "unix:", "tcp:8080", " tcp", "spiffe://a", "gid:100"}) {
    EXPECT_THAT(CheckCallerPattern(pattern),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown caller pattern")))
        << pattern;
  }
}

TEST(CheckCallerPatternTest, RejectsUidExplainingWhy) {
  EXPECT_THAT(
      CheckCallerPattern("uid:1000"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "caller pattern \"uid:1000\" is not supported: tokend cannot read a Unix caller's "
               "uid (gRPC 1.51's public API does not expose the connection's SO_PEERCRED), so "
               "Unix callers are gated by the socket's mode and group and named by \"unix\""));
  EXPECT_THAT(CheckCallerPattern("uid:"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SO_PEERCRED")));
}

TEST(CallerMatchesTest, UriMatchesOneSanExactly) {
  const Caller caller = MtlsCaller({"spiffe://a/x", "spiffe://a/y"}, {"y.example"});
  EXPECT_TRUE(CallerMatches("uri:spiffe://a/x", caller));
  EXPECT_TRUE(CallerMatches("uri:spiffe://a/y", caller));
  EXPECT_FALSE(CallerMatches("uri:SPIFFE://a/x", caller));  // Case-sensitive.
  EXPECT_FALSE(CallerMatches("uri:spiffe://a", caller));    // No prefix match.
  EXPECT_FALSE(CallerMatches("uri:spiffe://a/x/", caller));
  EXPECT_FALSE(CallerMatches("uri:y.example", caller));  // A DNS SAN is not a URI SAN.
}

TEST(CallerMatchesTest, DnsMatchesOneSanIgnoringCase) {
  const Caller caller = MtlsCaller({"spiffe://a/x"}, {"a.example", "Reader.Sec.Svc"});
  EXPECT_TRUE(CallerMatches("dns:a.example", caller));
  EXPECT_TRUE(CallerMatches("dns:reader.sec.svc", caller));
  EXPECT_TRUE(CallerMatches("dns:A.EXAMPLE", caller));
  EXPECT_FALSE(CallerMatches("dns:example", caller));
  EXPECT_FALSE(CallerMatches("dns:a.example.", caller));
  EXPECT_FALSE(CallerMatches("dns:spiffe://a/x", caller));  // A URI SAN is not a DNS SAN.
}

TEST(CallerMatchesTest, SanPatternsMatchOnlyMtlsCallers) {
  for (Caller::Transport transport :
       {Caller::Transport::kUnix, Caller::Transport::kTcp, Caller::Transport::kTls}) {
    // SANs that reach here from a non-mTLS transport must still not count.
    const Caller caller{transport, {"spiffe://a"}, {"a.example"}};
    EXPECT_FALSE(CallerMatches("uri:spiffe://a", caller)) << caller.Describe();
    EXPECT_FALSE(CallerMatches("dns:a.example", caller)) << caller.Describe();
  }
}

TEST(CallerMatchesTest, UnixAndTcpMatchTheirTransportOnly) {
  EXPECT_TRUE(CallerMatches("unix", UnixCaller()));
  EXPECT_FALSE(CallerMatches("unix", TcpCaller()));
  EXPECT_FALSE(CallerMatches("unix", TlsCaller()));
  EXPECT_FALSE(CallerMatches("unix", MtlsCaller({"spiffe://a"})));
  EXPECT_TRUE(CallerMatches("tcp", TcpCaller()));
  EXPECT_FALSE(CallerMatches("tcp", UnixCaller()));
  EXPECT_FALSE(CallerMatches("tcp", TlsCaller()));
  EXPECT_FALSE(CallerMatches("tcp", MtlsCaller({"spiffe://a"})));
}

TEST(CallerMatchesTest, InvalidPatternsMatchNothing) {
  EXPECT_FALSE(CallerMatches("uri:", MtlsCaller({""})));
  EXPECT_FALSE(CallerMatches("dns:", MtlsCaller({}, {""})));
  EXPECT_FALSE(CallerMatches("uid:0", UnixCaller()));
  EXPECT_FALSE(CallerMatches("*", UnixCaller()));
  EXPECT_FALSE(CallerMatches("", TcpCaller()));
}

TEST(CallerPolicyParseTest, AcceptsTheHeaderExample) {
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(R"({"rules": [
      {"name": "defender-reader",
       "callers": ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc", "unix"],
       "credentials": ["mde"],
       "tenants": ["11111111-1111-1111-1111-111111111111"],
       "scopes": ["https://api.securitycenter.microsoft.com/.default"],
       "resources": ["https://api.securitycenter.microsoft.com"]}]})",
                                                            "/etc/tokend/policy.json");
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->rule_count(), 1u);
  EXPECT_EQ(policy->source(), "/etc/tokend/policy.json");
}

TEST(CallerPolicyParseTest, ErrorsNameTheSourceRuleAndField) {
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(
      R"({"rules": [{"name": "reader", "callers": ["unix", "foo:bar"], "credentials": ["mde"],
                     "tenants": ["*"], "scopes": ["*"]}]})",
      "/etc/tokend/policy.json");
  EXPECT_THAT(policy, StatusIs(absl::StatusCode::kInvalidArgument,
                               "policy /etc/tokend/policy.json: rule \"reader\": \"callers\"[1]: "
                               "unknown caller pattern \"foo:bar\" (use uri:..., dns:..., unix or "
                               "tcp)"));
}

struct ParseErrorCase {
  const char* name;
  std::string json;
  std::string message;  // The whole message.
};
void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

// A rule with every required member, and `extra` spliced in before its closing brace.
std::string Rule(const std::string& name_member, const std::string& extra = "") {
  return "{" + name_member +
         R"(, "callers": ["unix"], "credentials": ["mde"], "tenants": ["*"], "scopes": ["*"])" +
         extra + "}";
}
// A rule named "r" with members `members` only.
std::string Members(const std::string& members) { return R"({"name": "r", )" + members + "}"; }
std::string Rules(const std::string& rules) { return R"({"rules": [)" + rules + "]}"; }

std::vector<ParseErrorCase> ParseErrorCases() {
  const std::string p = "policy /p.json: ";
  const std::string r = p + "rule \"r\": ";
  const std::string ok_lists = R"("credentials": ["mde"], "tenants": ["*"], "scopes": ["*"])";
  return {
      // The document.
      {"Empty", "", p + "not valid JSON: syntax error at byte 1"},
      {"Truncated", R"({"rules": [)", p + "not valid JSON: syntax error at byte 12"},
      {"TrailingComma", R"({"rules": [], })", p + "not valid JSON: syntax error at byte 15"},
      {"TrailingGarbage", Rules(Rule(R"("name": "r")")) + " x",
       p + "not valid JSON: syntax error at byte " +
           std::to_string(Rules(Rule(R"("name": "r")")).size() + 2)},
      {"NotAnObject", "[]", p + "document is not a JSON object"},
      {"DuplicateTopLevelKey", R"({"rules": [], "rules": []})", p + "document has a duplicate key"},
      {"DuplicateKeyInRule", Rules(Rule(R"("name": "r")", R"(, "tenants": ["a"])")),
       p + "document has a duplicate key"},
      {"NestedTooDeeply", Rules(Rule(R"("name": "r")", R"(, "resources": [[[[[[["x"]]]]]]])")),
       p + "document is nested too deeply"},
      {"TooLarge", Rules(Rule(R"("name": ")" + std::string(1024 * 1024, 'a') + "\"")),
       p + "is larger than 1048576 bytes"},
      {"UnknownTopLevelKey", R"({"rules": [], "version": 1})",
       p + "unknown key \"version\" (the file holds only \"rules\")"},
      {"RulesMissing", "{}", p + "\"rules\" is missing"},
      {"RulesNotArray", R"({"rules": {}})", p + "\"rules\" is not an array"},
      {"RulesEmpty", R"({"rules": []})", p + "\"rules\" is empty"},
      {"RuleNotObject", Rules(Rule(R"("name": "r")") + R"(, "r2")"),
       p + "rule #2 is not an object"},
      // Names; the rule is named by its position until its name is known to be good.
      {"NameMissing", Rules(R"({"callers": ["unix"]})"), p + "rule #1: \"name\" is missing"},
      {"NameNotString", Rules(Rule(R"("name": 7)")), p + "rule #1: \"name\" is not a string"},
      {"NameEmpty", Rules(Rule(R"("name": "")")), p + "rule #1: \"name\" is empty"},
      {"NameDuplicate",
       Rules(Rule(R"("name": "a")") + "," + Rule(R"("name": "b")") + "," + Rule(R"("name": "a")")),
       p + "rule #3: \"name\" \"a\" is already the name of rule #1"},
      {"NameWithControlCharacter", Rules(Rule(R"("name": "x\ny")")),
       p + "rule #1: \"name\" \"x\\ny\" contains a control character"},
      {"NameEscapedInMessages", Rules(Rule(R"("name": "a\"b")", R"(, "bogus": 1)")),
       p + "rule \"a\\\"b\": unknown key \"bogus\" (expected name, callers, credentials, "
           "tenants, scopes, resources)"},
      // Members of a rule.
      {"UnknownRuleKey", Rules(Rule(R"("name": "r")", R"(, "scope": ["a"])")),
       r + "unknown key \"scope\" (expected name, callers, credentials, tenants, scopes, "
           "resources)"},
      {"UnknownKeyBeforeMissingOnes", Rules(Members(R"("scope": ["a"])")),
       r + "unknown key \"scope\" (expected name, callers, credentials, tenants, scopes, "
           "resources)"},
      {"CallersMissing", Rules(Members(ok_lists)), r + "\"callers\" is missing"},
      {"CallersNotArray", Rules(Members(R"("callers": "unix", )" + ok_lists)),
       r + "\"callers\" is not an array"},
      {"CallersEmpty", Rules(Members(R"("callers": [], )" + ok_lists)), r + "\"callers\" is empty"},
      {"CallerNotString", Rules(Members(R"("callers": ["unix", 1], )" + ok_lists)),
       r + "\"callers\"[1] is not a string"},
      {"CallerEmpty", Rules(Members(R"("callers": [""], )" + ok_lists)),
       r + "\"callers\"[0] is empty"},
      {"CallerWithSpace", Rules(Members(R"("callers": ["uri:spiffe://a "], )" + ok_lists)),
       r + "\"callers\"[0] \"uri:spiffe://a \" contains whitespace or a control character"},
      {"CallerUnknown", Rules(Members(R"("callers": ["unix", "foo:bar"], )" + ok_lists)),
       r + "\"callers\"[1]: unknown caller pattern \"foo:bar\" (use uri:..., dns:..., unix or "
           "tcp)"},
      {"CallerWildcard", Rules(Members(R"("callers": ["*"], )" + ok_lists)),
       r + "\"callers\"[0]: unknown caller pattern \"*\" (use uri:..., dns:..., unix or tcp)"},
      {"CallerEmptyUri", Rules(Members(R"("callers": ["uri:"], )" + ok_lists)),
       r + "\"callers\"[0]: caller pattern \"uri:\" has an empty value"},
      {"CallerUid", Rules(Members(R"("callers": ["uid:1000"], )" + ok_lists)),
       r + "\"callers\"[0]: caller pattern \"uid:1000\" is not supported: tokend cannot read a "
           "Unix caller's uid (gRPC 1.51's public API does not expose the connection's "
           "SO_PEERCRED), so Unix callers are gated by the socket's mode and group and named by "
           "\"unix\""},
      {"CredentialsMissing",
       Rules(Members(R"("callers": ["unix"], "tenants": ["*"], "scopes": ["*"])")),
       r + "\"credentials\" is missing"},
      {"CredentialNotString",
       Rules(Members(R"("callers": ["unix"], "credentials": [null], "tenants": ["*"],
                        "scopes": ["*"])")),
       r + "\"credentials\"[0] is not a string"},
      {"CredentialWithControlCharacter",
       Rules(Members(R"("callers": ["unix"], "credentials": ["m\u0001"], "tenants": ["*"],
                        "scopes": ["*"])")),
       r + "\"credentials\"[0] \"m\\x01\" contains whitespace or a control character"},
      {"TenantsMissing",
       Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "scopes": ["*"])")),
       r + "\"tenants\" is missing"},
      {"TenantsEmpty", Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "tenants": [],
                        "scopes": ["*"])")),
       r + "\"tenants\" is empty"},
      {"ScopesEmpty",
       Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "tenants": ["*"],
                        "scopes": [], "resources": ["*"])")),
       r + "\"scopes\" is empty"},
      {"ScopeWithSpace",
       Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "tenants": ["*"],
                        "scopes": ["a b"])")),
       r + "\"scopes\"[0] \"a b\" contains whitespace or a control character"},
      {"ResourcesNotArray",
       Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "tenants": ["*"],
                        "resources": "https://graph.microsoft.com")")),
       r + "\"resources\" is not an array"},
      {"NeitherScopesNorResources",
       Rules(Members(R"("callers": ["unix"], "credentials": ["mde"], "tenants": ["*"])")),
       r + "needs \"scopes\" or \"resources\" (or both)"},
  };
}

class CallerPolicyParseErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(CallerPolicyParseErrorTest, IsInvalidArgumentWithMessage) {
  EXPECT_THAT(CallerPolicy::Parse(GetParam().json, kSource),
              StatusIs(absl::StatusCode::kInvalidArgument, GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(All, CallerPolicyParseErrorTest, ::testing::ValuesIn(ParseErrorCases()),
                         [](const ::testing::TestParamInfo<ParseErrorCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(CallerPolicyParseTest, SyntaxErrorDoesNotEchoTheFile) {
  const std::string json = R"({"rules": [{"name": "s3cr3t-looking-value" "callers": []}]})";
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(json, kSource);
  EXPECT_THAT(policy, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("syntax error at byte"), Not(HasSubstr("s3cr3t")))));
}

TEST(CallerPolicyParseTest, ScopesOrResourcesAloneAreEnough) {
  EXPECT_THAT(CallerPolicy::Parse(Rules(Members(R"("callers": ["tcp"], "credentials": ["a"],
                                                   "tenants": ["*"], "scopes": ["s"])")),
                                  kSource),
              IsOk());
  EXPECT_THAT(CallerPolicy::Parse(Rules(Members(R"("callers": ["tcp"], "credentials": ["a"],
                                                   "tenants": ["*"], "resources": ["r"])")),
                                  kSource),
              IsOk());
}

TEST(CallerPolicyAuthorizeTest, AllowsWhatTheRuleLists) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("reader", {"uri:" + std::string(kReaderUri)}, {"mde"}, {kTenant},
                         {{kMdeScope}}, {{kMdeResource}})});
  const Caller reader = MtlsCaller({kReaderUri});
  EXPECT_EQ(Decide(policy, reader, V2("mde", kTenant, {kMdeScope})), "OK [reader]");
  EXPECT_EQ(Decide(policy, reader, V1("mde", kTenant, kMdeResource)), "OK [reader]");
}

TEST(CallerPolicyAuthorizeTest, CredentialsMatchExactly) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("reader", {"uri:spiffe://x"}, {"mde"}, {"*"}, {{"*"}})});
  const Caller caller = MtlsCaller({"spiffe://x"});
  EXPECT_EQ(Decide(policy, caller, V2("mde", kTenant, {"s"})), "OK [reader]");
  EXPECT_EQ(Decide(policy, caller, V2("mde2", kTenant, {"s"})),
            "denied by policy /p.json: rule \"reader\" does not allow credential \"mde2\" for "
            "mTLS client uri:spiffe://x [reader]");
  EXPECT_EQ(Decide(policy, caller, V2("MDE", kTenant, {"s"})),
            "denied by policy /p.json: rule \"reader\" does not allow credential \"MDE\" for "
            "mTLS client uri:spiffe://x [reader]");
}

TEST(CallerPolicyAuthorizeTest, TenantsMatchIgnoringCase) {
  const CallerPolicy policy = PolicyOf(
      {RuleJson("r", {"unix"}, {"mde"},
                {"AbCd1111-1111-1111-1111-111111111111", "contoso.onmicrosoft.com"}, {{"*"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("mde", "abcd1111-1111-1111-1111-111111111111", {"s"})),
            "OK [r]");
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("mde", "Contoso.OnMicrosoft.com", {"s"})), "OK [r]");
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("mde", kOtherTenant, {"s"})),
            "denied by policy /p.json: rule \"r\" does not allow tenant "
            "\"22222222-2222-2222-2222-222222222222\" for a Unix socket caller [r]");
}

TEST(CallerPolicyAuthorizeTest, EveryScopeMustBeListedIgnoringCase) {
  const CallerPolicy policy = PolicyOf({RuleJson(
      "graph", {"tcp"}, {"g"}, {"*"}, {{"User.Read", "https://graph.microsoft.com/Mail.Read"}})});
  EXPECT_EQ(Decide(policy, TcpCaller(), V2("g", kTenant, {"user.read"})), "OK [graph]");
  EXPECT_EQ(Decide(policy, TcpCaller(),
                   V2("g", kTenant, {"USER.READ", "https://graph.microsoft.com/mail.read"})),
            "OK [graph]");
  EXPECT_EQ(Decide(policy, TcpCaller(), V2("g", kTenant, {"User.Read", "Mail.Send", "x"})),
            "denied by policy /p.json: rule \"graph\" does not allow scope \"Mail.Send\" for a "
            "loopback TCP caller [graph]");
}

TEST(CallerPolicyAuthorizeTest, ResourcesMatchIgnoringCaseAndOneTrailingSlash) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("v1", {"unix"}, {"c"}, {"*"}, std::nullopt,
                         {{"https://graph.microsoft.com", "https://management.azure.com/"}})});
  const Caller caller = UnixCaller();
  EXPECT_EQ(Decide(policy, caller, V1("c", kTenant, "https://graph.microsoft.com")), "OK [v1]");
  EXPECT_EQ(Decide(policy, caller, V1("c", kTenant, "https://Graph.Microsoft.com/")), "OK [v1]");
  EXPECT_EQ(Decide(policy, caller, V1("c", kTenant, "https://management.azure.com")), "OK [v1]");
  EXPECT_EQ(Decide(policy, caller, V1("c", kTenant, "https://management.azure.com/")), "OK [v1]");
  EXPECT_EQ(Decide(policy, caller, V1("c", kTenant, "https://graph.microsoft.com//")),
            "denied by policy /p.json: rule \"v1\" does not allow resource "
            "\"https://graph.microsoft.com//\" for a Unix socket caller [v1]");
  EXPECT_THAT(
      policy.Authorize(caller, V1("c", kTenant, "https://graph.microsoft.com/beta"), nullptr),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("does not allow resource")));
}

TEST(CallerPolicyAuthorizeTest, AbsentListAllowsNoneOfItsKind) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("v2-only", {"unix"}, {"c"}, {"*"}, {{"s"}}),
                RuleJson("v1-only", {"tcp"}, {"c"}, {"*"}, std::nullopt, {{"r"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V1("c", kTenant, "r")),
            "denied by policy /p.json: rule \"v2-only\" does not allow resource \"r\" for a Unix "
            "socket caller [v2-only]");
  EXPECT_EQ(Decide(policy, TcpCaller(), V2("c", kTenant, {"s"})),
            "denied by policy /p.json: rule \"v1-only\" does not allow scope \"s\" for a loopback "
            "TCP caller [v1-only]");
}

TEST(CallerPolicyAuthorizeTest, WildcardsAllowAnything) {
  const CallerPolicy policy = PolicyOf({RuleJson("any", {"unix"}, {"*"}, {"*"}, {{"*"}}, {{"*"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("whatever", kOtherTenant, {"a", "b"})), "OK [any]");
  EXPECT_EQ(Decide(policy, UnixCaller(), V1("other", "contoso.com", "https://x.example/")),
            "OK [any]");
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("c", kTenant, {})), "OK [any]");
}

TEST(CallerPolicyAuthorizeTest, WildcardAmongOtherEntriesAllowsAnything) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("mixed", {"unix"}, {"a", "*"}, {kTenant, "*"}, {{"s", "*"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("b", kOtherTenant, {"t"})), "OK [mixed]");
}

TEST(CallerPolicyAuthorizeTest, RequestWithoutScopesOrResourceNeedsAWildcard) {
  const CallerPolicy listed = PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, {{"s"}}, {{"x"}})});
  EXPECT_EQ(Decide(listed, UnixCaller(), V2("c", kTenant, {})),
            "denied by policy /p.json: rule \"r\" does not allow a request without scopes or a "
            "resource for a Unix socket caller [r]");
  const CallerPolicy any_scope = PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, {{"*"}})});
  EXPECT_EQ(Decide(any_scope, UnixCaller(), V2("c", kTenant, {})), "OK [r]");
  const CallerPolicy any_resource =
      PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, std::nullopt, {{"*"}})});
  EXPECT_EQ(Decide(any_resource, UnixCaller(), V2("c", kTenant, {})), "OK [r]");
}

TEST(CallerPolicyAuthorizeTest, RequestWithScopesAndResourceNeedsBoth) {
  const CallerPolicy policy = PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, {{"s"}}, {{"x"}})});
  PolicyRequest both{"c", kTenant, {"s"}, "x"};
  EXPECT_EQ(Decide(policy, UnixCaller(), both), "OK [r]");
  both.resource = "y";
  EXPECT_THAT(policy.Authorize(UnixCaller(), both, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("resource \"y\"")));
  both.resource = "x";
  both.scopes = {"s", "t"};
  EXPECT_THAT(policy.Authorize(UnixCaller(), both, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("scope \"t\"")));
}

TEST(CallerPolicyAuthorizeTest, ReportsTheFirstUnallowedPartInOrder) {
  // Credential, then tenant, then resource, then scopes.
  const CallerPolicy policy =
      PolicyOf({RuleJson("r", {"unix"}, {"c"}, {kTenant}, {{"s"}}, {{"x"}})});
  PolicyRequest request{"bad", kOtherTenant, {"t"}, "y"};
  EXPECT_THAT(policy.Authorize(UnixCaller(), request, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("credential \"bad\"")));
  request.credential = "c";
  EXPECT_THAT(policy.Authorize(UnixCaller(), request, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("tenant \"2222")));
  request.tenant = kTenant;
  EXPECT_THAT(policy.Authorize(UnixCaller(), request, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("resource \"y\"")));
  request.resource = "x";
  EXPECT_THAT(policy.Authorize(UnixCaller(), request, nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("scope \"t\"")));
  request.scopes = {"s"};
  EXPECT_THAT(policy.Authorize(UnixCaller(), request, nullptr), IsOk());
}

TEST(CallerPolicyAuthorizeTest, FirstAllowingRuleInFileOrderDecides) {
  const CallerPolicy policy = PolicyOf({RuleJson("narrow", {"unix"}, {"c"}, {kTenant}, {{"s"}}),
                                        RuleJson("broad", {"unix"}, {"*"}, {"*"}, {{"*"}}),
                                        RuleJson("also-broad", {"unix"}, {"*"}, {"*"}, {{"*"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("c", kTenant, {"s"})), "OK [narrow]");
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("c", kTenant, {"t"})), "OK [broad]");
}

TEST(CallerPolicyAuthorizeTest, DenialNamesTheFirstRuleThatNamesTheCaller) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("others", {"uri:spiffe://other"}, {"*"}, {"*"}, {{"*"}}),
                RuleJson("first", {"dns:b.example", "uri:spiffe://x"}, {"mde"}, {"*"}, {{"*"}}),
                RuleJson("second", {"uri:spiffe://x"}, {"mde2"}, {kTenant}, {{"*"}})});
  EXPECT_EQ(Decide(policy, MtlsCaller({"spiffe://x"}), V2("mde2", kOtherTenant, {"s"})),
            "denied by policy /p.json: rule \"first\" does not allow credential \"mde2\" for mTLS "
            "client uri:spiffe://x [first]");
  EXPECT_EQ(Decide(policy, MtlsCaller({"spiffe://x"}), V2("mde2", kTenant, {"s"})), "OK [second]");
}

TEST(CallerPolicyAuthorizeTest, NoRuleNamesTheCaller) {
  const CallerPolicy policy =
      PolicyOf({RuleJson("r", {"uri:spiffe://x", "dns:x.example"}, {"*"}, {"*"}, {{"*"}})});
  const PolicyRequest request = V2("c", kTenant, {"s"});
  EXPECT_EQ(Decide(policy, UnixCaller(), request),
            "denied by policy /p.json: no rule names a Unix socket caller []");
  EXPECT_EQ(Decide(policy, TcpCaller(), request),
            "denied by policy /p.json: no rule names a loopback TCP caller []");
  EXPECT_EQ(Decide(policy, TlsCaller(), request),
            "denied by policy /p.json: no rule names a TLS caller without a client certificate []");
  EXPECT_EQ(Decide(policy, MtlsCaller({"spiffe://y"}, {"y.example"}), request),
            "denied by policy /p.json: no rule names mTLS client uri:spiffe://y, dns:y.example []");
  EXPECT_EQ(Decide(policy, MtlsCaller({}), request),
            "denied by policy /p.json: no rule names mTLS client without URI or DNS names []");
  EXPECT_EQ(Decide(policy, MtlsCaller({}, {"X.Example"}), request), "OK [r]");
}

TEST(CallerPolicyAuthorizeTest, RuleMayBeNull) {
  const CallerPolicy policy = PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, {{"*"}})});
  EXPECT_THAT(policy.Authorize(UnixCaller(), V2("c", kTenant, {"s"}), nullptr), IsOk());
  EXPECT_THAT(policy.Authorize(UnixCaller(), V2("d", kTenant, {"s"}), nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("rule \"r\"")));
  EXPECT_THAT(policy.Authorize(TcpCaller(), V2("c", kTenant, {"s"}), nullptr),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no rule names")));
}

TEST(CallerPolicyAuthorizeTest, DenialEscapesRequestValues) {
  const CallerPolicy policy = PolicyOf({RuleJson("r", {"unix"}, {"c"}, {"*"}, {{"*"}})});
  EXPECT_EQ(Decide(policy, UnixCaller(), V2("c\n[forged] allowed", kTenant, {"s"})),
            "denied by policy /p.json: rule \"r\" does not allow credential \"c\\n[forged] "
            "allowed\" for a Unix socket caller [r]");
}

// A policy as a deployment might write it: a SPIFFE workload, a DNS-named client, local
// operators on the Unix socket and a development loop on loopback TCP.
TEST(CallerPolicyAuthorizeTest, RealisticPolicy) {
  absl::StatusOr<CallerPolicy> policy = CallerPolicy::Parse(R"({"rules": [
      {"name": "defender-reader",
       "callers": ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"],
       "credentials": ["mde"],
       "tenants": ["11111111-1111-1111-1111-111111111111"],
       "scopes": ["https://api.securitycenter.microsoft.com/.default"],
       "resources": ["https://api.securitycenter.microsoft.com"]},
      {"name": "mail-bot",
       "callers": ["dns:mailbot.apps.svc"],
       "credentials": ["graph"],
       "tenants": ["contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com"],
       "scopes": ["https://graph.microsoft.com/Mail.Send", "https://graph.microsoft.com/User.Read"]},
      {"name": "operators",
       "callers": ["unix"],
       "credentials": ["*"],
       "tenants": ["*"],
       "scopes": ["*"],
       "resources": ["*"]},
      {"name": "dev-loop",
       "callers": ["tcp"],
       "credentials": ["graph"],
       "tenants": ["contoso.onmicrosoft.com"],
       "scopes": ["https://graph.microsoft.com/.default"]}]})",
                                                            "/etc/tokend/policy.json");
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->rule_count(), 4u);

  const Caller reader_by_uri = MtlsCaller({"spiffe://cluster.local/ns/sec/sa/reader"});
  const Caller reader_by_dns = MtlsCaller({}, {"READER.sec.svc"});
  const Caller mail_bot =
      MtlsCaller({"spiffe://cluster.local/ns/apps/sa/mailbot"}, {"mailbot.apps.svc"});
  EXPECT_EQ(Decide(*policy, reader_by_uri, V2("mde", kTenant, {kMdeScope})),
            "OK [defender-reader]");
  EXPECT_EQ(Decide(*policy, reader_by_dns,
                   V1("mde", kTenant, "https://api.securitycenter.microsoft.com/")),
            "OK [defender-reader]");
  EXPECT_EQ(Decide(*policy, reader_by_uri, V2("graph", kTenant, {kMdeScope})),
            "denied by policy /etc/tokend/policy.json: rule \"defender-reader\" does not allow "
            "credential \"graph\" for mTLS client uri:spiffe://cluster.local/ns/sec/sa/reader "
            "[defender-reader]");
  EXPECT_EQ(Decide(*policy, mail_bot,
                   V2("graph", "Fabrikam.onmicrosoft.com",
                      {"https://graph.microsoft.com/mail.send",
                       "https://graph.microsoft.com/user.read"})),
            "OK [mail-bot]");
  EXPECT_EQ(
      Decide(*policy, mail_bot,
             V2("graph", "contoso.onmicrosoft.com", {"https://graph.microsoft.com/.default"})),
      "denied by policy /etc/tokend/policy.json: rule \"mail-bot\" does not allow scope "
      "\"https://graph.microsoft.com/.default\" for mTLS client "
      "uri:spiffe://cluster.local/ns/apps/sa/mailbot, dns:mailbot.apps.svc [mail-bot]");
  EXPECT_EQ(Decide(*policy, UnixCaller(), V1("anything", kOtherTenant, "https://x.example")),
            "OK [operators]");
  EXPECT_EQ(
      Decide(*policy, TcpCaller(),
             V2("graph", "contoso.onmicrosoft.com", {"https://graph.microsoft.com/.default"})),
      "OK [dev-loop]");
  EXPECT_EQ(
      Decide(*policy, TcpCaller(),
             V2("graph", "fabrikam.onmicrosoft.com", {"https://graph.microsoft.com/.default"})),
      "denied by policy /etc/tokend/policy.json: rule \"dev-loop\" does not allow tenant "
      "\"fabrikam.onmicrosoft.com\" for a loopback TCP caller [dev-loop]");
  EXPECT_EQ(Decide(*policy, TlsCaller(), V2("graph", kTenant, {"x"})),
            "denied by policy /etc/tokend/policy.json: no rule names a TLS caller without a "
            "client certificate []");
  EXPECT_EQ(Decide(*policy, MtlsCaller({"spiffe://cluster.local/ns/sec/sa/writer"}),
                   V2("mde", kTenant, {kMdeScope})),
            "denied by policy /etc/tokend/policy.json: no rule names mTLS client "
            "uri:spiffe://cluster.local/ns/sec/sa/writer []");
}

}  // namespace
}  // namespace tokend
