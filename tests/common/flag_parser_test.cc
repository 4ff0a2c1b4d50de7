#include "service/common/flag_parser.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;

class FlagParserTest : public ::testing::Test {
 protected:
  FlagParser parser_{{
      {"clock-skew", "DURATION", "Leeway.", "5m", "TOKEND_CLOCK_SKEW"},
      {"role", "ROLE", "Repeatable.", "", "", /*repeated=*/true},
      {"verbose", "", "A switch.", "", "TOKEND_VERBOSE"},
  }};
  std::map<std::string, std::string> env_;
  EnvLookup Env() {
    return [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }
  absl::StatusOr<FlagValues> Parse(std::vector<std::string> args, bool positional = false) {
    return parser_.Parse(args, Env(), positional);
  }
};

TEST_F(FlagParserTest, DefaultsApply) {
  absl::StatusOr<FlagValues> v = Parse({});
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->Get("clock-skew"), "5m");
  EXPECT_FALSE(v->GetBool("verbose"));
  EXPECT_THAT(v->GetAll("role"), ElementsAre());
}

TEST_F(FlagParserTest, BothSpellingsOfAValue) {
  EXPECT_EQ(Parse({"--clock-skew", "1m"})->Get("clock-skew"), "1m");
  EXPECT_EQ(Parse({"--clock-skew=2m"})->Get("clock-skew"), "2m");
  EXPECT_EQ(Parse({"--clock-skew="})->Get("clock-skew"), "");
}

TEST_F(FlagParserTest, CommandLineWinsOverEnvironmentWhichWinsOverDefault) {
  env_["TOKEND_CLOCK_SKEW"] = "7m";
  absl::StatusOr<FlagValues> v = Parse({});
  EXPECT_EQ(v->Get("clock-skew"), "7m");
  EXPECT_EQ(v->Origin("clock-skew"), "TOKEND_CLOCK_SKEW (environment)");
  v = Parse({"--clock-skew", "9m"});
  EXPECT_EQ(v->Get("clock-skew"), "9m");
  EXPECT_EQ(v->Origin("clock-skew"), "--clock-skew");
}

TEST_F(FlagParserTest, BooleansFromTheCommandLineAndEnvironment) {
  EXPECT_TRUE(Parse({"--verbose"})->GetBool("verbose"));
  env_["TOKEND_VERBOSE"] = "TRUE";
  EXPECT_TRUE(Parse({})->GetBool("verbose"));
  env_["TOKEND_VERBOSE"] = "0";
  EXPECT_FALSE(Parse({})->GetBool("verbose"));
  env_["TOKEND_VERBOSE"] = "maybe";
  EXPECT_THAT(Parse({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TOKEND_VERBOSE")));
}

TEST_F(FlagParserTest, RepeatedFlagsKeepEveryValue) {
  EXPECT_THAT(Parse({"--role", "a", "--role=b"})->GetAll("role"), ElementsAre("a", "b"));
}

TEST_F(FlagParserTest, ErrorsNameTheFlag) {
  EXPECT_THAT(Parse({"--nope"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag --nope")));
  EXPECT_THAT(Parse({"--clock-skew"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("--clock-skew needs a value")));
  EXPECT_THAT(Parse({"--verbose=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--verbose takes no value")));
}

TEST_F(FlagParserTest, PositionalArgumentsAreNotEchoed) {
  absl::StatusOr<FlagValues> v = Parse({"eyJhbGciOiJSUzI1NiJ9.secret.sig"});
  EXPECT_THAT(v, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("argument #1")));
  EXPECT_THAT(std::string(v.status().message()), Not(HasSubstr("eyJ")));
}

TEST_F(FlagParserTest, StopsAtTheFirstPositionalWhenAsked) {
  absl::StatusOr<FlagValues> v = Parse({"--verbose", "cmd", "--role", "x"}, true);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->GetBool("verbose"));
  EXPECT_THAT(v->positional(), ElementsAre("cmd", "--role", "x"));
  EXPECT_THAT(v->GetAll("role"), ElementsAre());
}

TEST_F(FlagParserTest, HelpIsReportedNotAnError) {
  EXPECT_TRUE(Parse({"--help"})->help());
  EXPECT_TRUE(Parse({"-h"})->help());
  std::string usage = parser_.Usage();
  EXPECT_THAT(usage, HasSubstr("--clock-skew DURATION"));
  EXPECT_THAT(usage, HasSubstr("Default: 5m."));
  EXPECT_THAT(usage, HasSubstr("Environment: TOKEND_CLOCK_SKEW."));
}

TEST(SplitListTest, TrimsAndDropsEmpty) {
  EXPECT_THAT(SplitList(" a, b ,,c "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(SplitList(""), ElementsAre());
}

}  // namespace
}  // namespace tokend
