#include "service/config/listen_address.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tokend {
namespace {

using testing::IsOk;
using ::testing::Not;

TEST(ListenAddressTest, UnixSockets) {
  for (const char* in : {"unix:///run/tokend/tokend.sock", "unix:/run/tokend/tokend.sock"}) {
    absl::StatusOr<ListenAddress> a = ParseListenAddress(in);
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->kind, ListenAddress::Kind::kUnix);
    EXPECT_EQ(a->path, "/run/tokend/tokend.sock");
    EXPECT_EQ(a->GrpcAddress(), "unix:/run/tokend/tokend.sock");
    EXPECT_TRUE(a->loopback);
  }
  EXPECT_THAT(ParseListenAddress("unix:///" + std::string(200, 'a')), Not(IsOk()));
  EXPECT_THAT(ParseListenAddress("unix:///run/tokend/"), Not(IsOk()));
}

TEST(ListenAddressTest, TcpAddresses) {
  struct Case {
    const char* in;
    const char* host;
    int port;
    bool loopback;
  };
  const Case cases[] = {
      {"127.0.0.1:50051", "127.0.0.1", 50051, true},
      {"localhost:0", "localhost", 0, true},
      {"[::1]:1", "[::1]", 1, true},
      {"0.0.0.0:50051", "0.0.0.0", 50051, false},
      {"[::]:50051", "[::]", 50051, false},
      {"tokend.example.com:443", "tokend.example.com", 443, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<ListenAddress> a = ParseListenAddress(c.in);
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->kind, ListenAddress::Kind::kTcp);
    EXPECT_EQ(a->host, c.host);
    EXPECT_EQ(a->port, c.port);
    EXPECT_EQ(a->loopback, c.loopback);
  }
}

TEST(ListenAddressTest, Rejected) {
  for (const char* in : {"", "50051", ":50051", "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:65536",
                         "127.0.0.1:http", "::1:50051", "dns:///x:1", "unix:relative"}) {
    SCOPED_TRACE(in);
    EXPECT_THAT(ParseListenAddress(in), Not(IsOk()));
  }
}

}  // namespace
}  // namespace tokend
