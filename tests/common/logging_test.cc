#include "service/common/logging.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tokend {
namespace {

using ::testing::HasSubstr;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogOutput(&out_); }
  void TearDown() override {
    SetLogOutput(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }
  std::ostringstream out_;
};

TEST_F(LoggingTest, WritesOneJsonObjectPerLine) {
  LogInfo("listening", {{"address", "127.0.0.1:1"}, {"port", 1}, {"tls", false}});
  LogWarning("second \"quoted\"\nline");
  std::istringstream lines(out_.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  nlohmann::json first = nlohmann::json::parse(line);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["msg"], "listening");
  EXPECT_EQ(first["address"], "127.0.0.1:1");
  EXPECT_EQ(first["port"], 1);
  EXPECT_EQ(first["tls"], false);
  EXPECT_THAT(first["time"].get<std::string>(),
              ::testing::MatchesRegex("....-..-..T..:..:..\\....Z"));
  ASSERT_TRUE(std::getline(lines, line));
  nlohmann::json second = nlohmann::json::parse(line);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["msg"], "second \"quoted\"\nline");
  EXPECT_FALSE(std::getline(lines, line));
}

TEST_F(LoggingTest, DropsEventsBelowTheLevel) {
  SetLogLevel(LogLevel::kWarning);
  LogInfo("hidden");
  LogDebug("hidden too");
  LogError("shown");
  EXPECT_THAT(out_.str(), HasSubstr("shown"));
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("hidden")));
}

TEST_F(LoggingTest, InvalidUtf8DoesNotBreakTheLine) {
  LogInfo("bad bytes", {{"field", std::string("\xff\xfe", 2)}});
  EXPECT_TRUE(nlohmann::json::accept(out_.str()));
}

TEST(LogLevelTest, ParsesNames) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
}

}  // namespace
}  // namespace tokend
