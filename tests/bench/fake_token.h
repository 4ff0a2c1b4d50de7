// Fixed, realistic-size stand-ins for what tokend sends and receives, shared by the no-op
// server (its answers) and the load generator (its default requests). Nothing here is a real
// credential: the signature is filler and nothing verifies it.
#ifndef TOKEND_TESTS_BENCH_FAKE_TOKEN_H_
#define TOKEND_TESTS_BENCH_FAKE_TOKEN_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tokend::bench {

inline constexpr char kFakeTenantId[] = "3f1c5a2e-8b7d-4e09-a6c4-2d9e0f7b1a53";
inline constexpr char kFakeAppId[] = "9a0e6f41-2c3b-4d7a-8e15-6b4f2a9c0d87";
inline constexpr char kFakeObjectId[] = "5d2b8c17-0e4f-4a63-b9d2-71c8e3f6a045";
inline constexpr char kFakeResource[] = "https://api.securitycenter.microsoft.com";

// The application permissions carried by the fake token.
std::vector<std::string> FakeRoles();

// A JWT-shaped Entra ID v1 application token ("header.payload.signature", base64url) of about
// 1.2 KB, expiring at `expires_at_unix`. The same input gives the same string.
std::string FakeAccessToken(int64_t expires_at_unix);

}  // namespace tokend::bench

#endif  // TOKEND_TESTS_BENCH_FAKE_TOKEN_H_
