#include "service/common/secret_string.h"

#include <string>
#include <type_traits>
#include <utility>

#include "gtest/gtest.h"

namespace tokend {
namespace {

TEST(SecretStringTest, RevealsWhatItHolds) {
  SecretString s("hunter2");
  EXPECT_EQ(s.Reveal(), "hunter2");
  EXPECT_EQ(s.size(), 7u);
  EXPECT_FALSE(s.empty());
}

TEST(SecretStringTest, MovedFromIsEmpty) {
  SecretString a(std::string(100, 'x'));
  SecretString b(std::move(a));
  EXPECT_EQ(b.Reveal(), std::string(100, 'x'));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test.
  SecretString c;
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.size(), 100u);
}

TEST(SecretStringTest, CopiesAreIndependent) {
  SecretString a("one");
  SecretString b = a;
  b = SecretString("two");
  EXPECT_EQ(a.Reveal(), "one");
  EXPECT_EQ(b.Reveal(), "two");
}

TEST(SecretStringTest, EqualsComparesContent) {
  EXPECT_TRUE(SecretString("abc").Equals(SecretString("abc")));
  EXPECT_FALSE(SecretString("abc").Equals(SecretString("abd")));
  EXPECT_FALSE(SecretString("abc").Equals(SecretString("abcd")));
}

// A SecretString cannot be streamed into a log line or a test message by accident.
template <typename T, typename = void>
struct IsStreamable : std::false_type {};
template <typename T>
struct IsStreamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<T>())>>
    : std::true_type {};

TEST(SecretStringTest, HasNoStreamOperator) {
  EXPECT_FALSE(IsStreamable<SecretString>::value);
  EXPECT_TRUE(IsStreamable<std::string>::value);
}

}  // namespace
}  // namespace tokend
